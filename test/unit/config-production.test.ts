// What production refuses, and what it starts with but warns about, each saying why. Outside
// production the two refusals are warnings, so that a laptop can try anything.
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ConfigError,
  loadConfig,
  WARNINGS,
  type ConfigWarning,
  type Runtime,
} from '../../src/config/index.js'
import { testIf } from '../helpers/skip.js'

const secret = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')
const APP = 1400000000
const app = (keys: { id: string; secret: string }[], limits = {}) =>
  JSON.stringify({ [APP]: { keys, ...limits } })
const sha256 = 'ab'.repeat(32)
const hashedClients = JSON.stringify([
  { id: 'backend', tokenSha256: sha256, apps: [APP], scopes: ['usersig:issue'] },
])
const production = {
  NODE_ENV: 'production',
  USERSIG_APPS: app([{ id: 'k1', secret }]),
  USERSIG_CLIENTS: hashedClients,
  USERSIG_METRICS_TOKEN: randomBytes(32).toString('base64url'),
}

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return [...error.problems]
  }
  return []
}

/** A Node.js line still supported on the day these tests pretend it is. */
const SUPPORTED: Runtime = { nodeVersion: '26.1.0', today: new Date('2026-12-05T12:00:00Z') }

/** Every warning of the configuration, process and policy (on a supported Node.js by default). */
function warnings(env: Record<string, string>, runtime = SUPPORTED): ConfigWarning[] {
  const config = loadConfig(env, undefined, { runtime })
  return [...config.process.warnings, ...config.policy.warnings]
}

test('a sound production configuration starts without a warning', () => {
  expect(warnings(production)).toEqual([])
})

describe('a Node.js past its end of life warns in production (node_end_of_life)', () => {
  const on = (nodeVersion: string, day: string): Runtime => ({
    nodeVersion,
    today: new Date(`${day}T12:00:00Z`),
  })

  test.each([
    ['20.20.2', '2026-12-05', '2026-04-30'],
    ['20.19.0', '2026-05-01', '2026-04-30'],
    ['22.12.0', '2027-05-01', '2027-04-30'],
    ['25.2.1', '2026-07-01', '2026-06-01'],
    ['16.20.2', '2026-12-05', '2025-04-30'], // older than the table: past the oldest line it names
  ])('Node.js %s on %s: warned, naming the day support ended (%s)', (version, day, ended) => {
    expect(warnings(production, on(version, day))).toEqual([
      {
        warning: 'node_end_of_life',
        message: `Node.js ${version} runs this service: its release line reached its end of life by ${ended} and gets no more security fixes`,
      },
    ])
  })

  test.each([
    ['20.20.2', '2026-04-29'], // the day before its end
    ['22.12.0', '2026-12-05'],
    ['24.11.0', '2026-12-05'],
    ['26.1.0', '2028-12-05'],
    ['28.0.0', '2030-12-05'], // newer than the table: not known to be past its end
  ])('Node.js %s on %s: supported, nothing said', (version, day) => {
    expect(warnings(production, on(version, day))).toEqual([])
  })

  test('outside production, nothing is said: Node 20 still runs the tests', () => {
    expect(warnings({ ...production, NODE_ENV: 'test' }, on('20.20.2', '2026-12-05'))).toEqual([])
  })

  test('the running Node.js and today are what loadConfig judges by default', () => {
    const ended = Date.now() >= Date.UTC(2026, 3, 30) && process.versions.node.startsWith('20.')
    expect(
      loadConfig(production).process.warnings.some((w) => w.warning === 'node_end_of_life'),
    ).toBe(ended)
  })
})

describe('refused in production, warned about elsewhere', () => {
  const weak: [string, string][] = [
    ['one character repeated', 'a'.repeat(64)],
    ['two characters alternating', 'ab'.repeat(32)],
    ['seven distinct characters', 'abcdefg'.repeat(10)],
  ]

  test.each(weak)('an app secret of %s', (_, weakSecret) => {
    const env = { ...production, USERSIG_APPS: app([{ id: 'k1', secret: weakSecret }]) }
    const distinct = new Set(weakSecret).size
    const message = `USERSIG_APPS: app "${APP}": key "k1": secret has only ${distinct} distinct characters (at least 8): it can be guessed`
    expect(problems(env)).toEqual([message])
    expect(warnings({ ...env, NODE_ENV: 'development' })).toEqual([
      { warning: 'weak_secret', message },
    ])
  })

  test('a secret of eight distinct characters, and a console key, are accepted', () => {
    expect(
      problems({ ...production, USERSIG_APPS: app([{ id: 'k1', secret: 'abcdefgh'.repeat(4) }]) }),
    ).toEqual([])
    // A random 64-hex key has about 16: far from the limit.
    expect(new Set(secret).size).toBeGreaterThanOrEqual(8)
  })

  test('a plain caller token of few characters', () => {
    const clients = JSON.stringify([
      { id: 'backend', token: 'xy'.repeat(20), apps: [APP], scopes: ['usersig:issue'] },
    ])
    expect(problems({ ...production, USERSIG_CLIENTS: clients })).toEqual([
      'USERSIG_CLIENTS: client "backend": token has only 2 distinct characters (at least 8): it can be guessed',
    ])
  })

  const jwt = (jwtSecret: string) => ({
    USERSIG_JWT_ISSUER: 'https://idp.example.com/',
    USERSIG_JWT_AUDIENCE: 'usersig-service',
    USERSIG_JWT_SECRET: jwtSecret,
  })

  test('a weak HS256 JWT secret', () => {
    expect(problems({ ...production, ...jwt('z'.repeat(40)) })).toEqual([
      'USERSIG_JWT_SECRET: the secret has only 1 distinct characters (at least 8): it can be guessed',
    ])
  })

  test('an HS256 JWT secret equal to an app key, named by app and key id, never by value', () => {
    const message = `USERSIG_JWT_SECRET: the JWT secret is the secret of app ${APP} key "k1": whoever holds the one can forge the other; give JWT callers a secret of their own`
    const env = { ...production, ...jwt(secret) }
    expect(problems(env)).toEqual([message])
    expect(warnings({ ...env, NODE_ENV: 'test' })).toEqual([
      { warning: 'jwt_secret_is_app_key', message },
    ])
    // The second key of an app counts as much as the first.
    const rotated = app([
      { id: 'new', secret: randomBytes(32).toString('hex') },
      { id: 'old', secret },
    ])
    expect(problems({ ...env, USERSIG_APPS: rotated })).toEqual([
      message.replace('key "k1"', 'key "old"'),
    ])
    expect(problems({ ...production, ...jwt(randomBytes(32).toString('hex')) })).toEqual([])
  })
})

describe('warned about in production, once at start and on each reload', () => {
  test('/metrics public: refused unless USERSIG_METRICS_PUBLIC=true says so, then warned about', () => {
    const withoutToken: Record<string, string> = { ...production }
    delete withoutToken.USERSIG_METRICS_TOKEN
    expect(problems(withoutToken)).toEqual([
      'USERSIG_METRICS_TOKEN: /metrics would be public in production: set USERSIG_METRICS_TOKEN (or _FILE) to require a bearer token, METRICS_PORT to serve it on a listener of its own, or USERSIG_METRICS_PUBLIC=true to make it public deliberately',
    ])
    expect(warnings({ ...withoutToken, USERSIG_METRICS_PUBLIC: 'true' })).toEqual([
      {
        warning: 'metrics_public',
        message:
          'USERSIG_METRICS_PUBLIC: /metrics needs no token: anyone who reaches the service sees its SDKAppIDs, key ids and traffic',
      },
    ])
    expect(warnings({ ...withoutToken, METRICS_PORT: '9100' })).toEqual([])
    expect(warnings({ ...withoutToken, NODE_ENV: 'development' })).toEqual([])
  })

  test('debug endpoints on', () => {
    expect(warnings({ ...production, USERSIG_DEBUG_ENDPOINTS: 'true' })).toEqual([
      {
        warning: 'debug_endpoints_on',
        message: expect.stringMatching(/^USERSIG_DEBUG_ENDPOINTS: on in production: /),
      },
    ])
    // Outside production they are on by default, and fine.
    expect(warnings({ ...production, NODE_ENV: 'development' })).toEqual([])
  })

  test('a plaintext token instead of its SHA-256, naming the client', () => {
    const clients = JSON.stringify([
      { id: 'backend', token, apps: [APP], scopes: ['usersig:issue'] },
      { id: 'hashed', tokenSha256: 'cd'.repeat(32), apps: [APP], scopes: ['usersig:issue'] },
    ])
    const found = warnings({ ...production, USERSIG_CLIENTS: clients })
    expect(found).toEqual([
      {
        warning: 'plaintext_token',
        message: expect.stringMatching(
          /^USERSIG_CLIENTS: client "backend": its "token" is in the configuration in plain text; give "tokenSha256"/,
        ),
      },
    ])
    expect(JSON.stringify(found)).not.toContain(token)
  })

  test('defaultExpire or maxExpire over 180 days, naming the app and the field', () => {
    const year = 365 * 86_400
    const env = {
      ...production,
      USERSIG_APPS: app([{ id: 'k1', secret }], { maxExpire: 50 * year, defaultExpire: year }),
    }
    expect(
      warnings(env).map(({ warning, message }) => [
        warning,
        message.split(':').slice(0, 3).join(':'),
      ]),
    ).toEqual([
      ['long_expiry', `USERSIG_APPS: app "${APP}": defaultExpire is 365 days, over 180`],
      ['long_expiry', `USERSIG_APPS: app "${APP}": maxExpire is 18250 days, over 180`],
    ])
    // 180 days exactly, the default maximum, is fine.
    expect(
      warnings({
        ...production,
        USERSIG_APPS: app([{ id: 'k1', secret }], { maxExpire: 15_552_000 }),
      }),
    ).toEqual([])
  })
})

describe('secret files others may read or replace (production)', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'usersig-perm-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const appsText = app([{ id: 'k1', secret }])
  function appsFile(mode: number, folder = dir): string {
    const path = join(folder, 'apps.json')
    writeFileSync(path, appsText)
    chmodSync(path, mode)
    return path
  }
  const withoutApps = {
    NODE_ENV: 'production',
    USERSIG_CLIENTS: hashedClients,
    METRICS_PORT: '9100',
  }
  const fileWarnings = (path: string) =>
    warnings({ ...withoutApps, USERSIG_APPS_FILE: path }).filter(
      (w) => w.warning === 'secret_file_permissions',
    )

  test('owner-only (0600, 0400) is fine', () => {
    expect(fileWarnings(appsFile(0o600))).toEqual([])
    expect(fileWarnings(appsFile(0o400))).toEqual([])
  })

  test('readable by every user: the default 0644 of a Secret volume or a umask', () => {
    const path = appsFile(0o644)
    expect(fileWarnings(path)).toEqual([
      {
        warning: 'secret_file_permissions',
        message: `USERSIG_APPS_FILE: ${path} is readable by every user (mode 0644): chmod o-rw`,
      },
    ])
  })

  test('readable by its group when the service owns the file: the group needs nothing', () => {
    const path = appsFile(0o640)
    expect(fileWarnings(path)).toEqual([
      {
        warning: 'secret_file_permissions',
        message: `USERSIG_APPS_FILE: ${path} is readable by its group, gid ${process.getgid?.()} (mode 0640), though the service reads it as its owner: chmod g-rw`,
      },
    ])
  })

  testIf(process.getuid?.() === 0, 'only root can give a file to another owner')(
    "0440 owned by another user, readable through the service's group (Kubernetes: root, fsGroup) is fine",
    () => {
      const path = appsFile(0o440)
      chownSync(path, 4321, process.getgid?.() ?? 0)
      expect(fileWarnings(path)).toEqual([])
    },
  )

  test('in a folder every user may write: anyone can replace the keys', () => {
    const open = join(dir, 'open')
    mkdirSync(open)
    chmodSync(open, 0o777)
    const path = appsFile(0o600, open)
    expect(fileWarnings(path)).toEqual([
      {
        warning: 'secret_file_permissions',
        message: `USERSIG_APPS_FILE: its folder ${open} is writable by every user (mode 0777): anyone can replace the file; chmod o-w`,
      },
    ])
  })

  test('through ..data symlinks (a Secret volume), the file and the folder really holding it count', () => {
    const version = join(dir, '..v1')
    mkdirSync(version, { mode: 0o755 })
    chmodSync(version, 0o777)
    writeFileSync(join(version, 'apps.json'), appsText, { mode: 0o644 })
    chmodSync(join(version, 'apps.json'), 0o644)
    symlinkSync('..v1', join(dir, '..data'))
    symlinkSync('..data/apps.json', join(dir, 'apps.json'))
    const path = join(dir, 'apps.json')
    expect(fileWarnings(path).map((w) => w.message)).toEqual([
      `USERSIG_APPS_FILE: ${path} is readable by every user (mode 0644): chmod o-rw`,
      `USERSIG_APPS_FILE: its folder ${version} is writable by every user (mode 0777): anyone can replace the file; chmod o-w`,
    ])
  })

  test('outside production, nothing is said', () => {
    expect(
      warnings({ ...withoutApps, NODE_ENV: 'test', USERSIG_APPS_FILE: appsFile(0o666) }),
    ).toEqual([])
  })
})

test('every warning code has what to do about it', () => {
  for (const advice of Object.values(WARNINGS)) expect(advice.length).toBeGreaterThan(20)
})
