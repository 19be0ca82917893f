// Reading the configuration's files and documents: every file problem names the variable actually
// used and the reason; an empty file is an error, never "nothing configured"; JSON mistakes come
// with a line and column; a key given twice is refused; one bad app is one message.
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { ConfigError, loadConfig, MAX_FILE_BYTES } from '../../src/config/index.js'
import { testIf } from '../helpers/skip.js'

const secretA = randomBytes(32).toString('hex')
const secretB = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')
const APP = 1400000000
const apps = { [APP]: { keys: [{ id: 'k1', secret: secretA }] } }
const clients = [{ id: 'backend', token, apps: [APP], scopes: ['usersig:issue'] }]

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'usersig-config-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** Writes `text` to a file in the test's folder and returns its path. */
function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text, { mode: 0o600 })
  return path
}

function problems(env: Record<string, string>, readFile?: (path: string) => string): string[] {
  try {
    loadConfig({ NODE_ENV: 'test', ...env }, readFile)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    for (const secret of [secretA, secretB, token]) expect(error.message).not.toContain(secret)
    return [...error.problems]
  }
  return []
}

const withFiles = (appsText: string, clientsText = JSON.stringify(clients)) => ({
  USERSIG_APPS_FILE: file('apps.json', appsText),
  USERSIG_CLIENTS_FILE: file('clients.json', clientsText),
})

describe('files named by *_FILE variables', () => {
  test('a missing file, a folder and a FIFO each say why, naming the variable used', () => {
    const missing = join(dir, 'nope.json')
    execFileSync('mkfifo', [join(dir, 'fifo')])
    expect(
      problems({
        USERSIG_APPS_FILE: missing,
        USERSIG_CLIENTS_FILE: dir,
        USERSIG_JWT_ISSUER: 'i',
        USERSIG_JWT_AUDIENCE: 'a',
        USERSIG_JWT_SECRET_FILE: join(dir, 'fifo'),
      }),
    ).toEqual([
      `USERSIG_APPS_FILE: cannot read ${missing}: no such file (ENOENT)`,
      `USERSIG_CLIENTS_FILE: cannot read ${dir}: it is a folder, not a file (EISDIR)`,
      `USERSIG_JWT_SECRET_FILE: cannot read ${join(dir, 'fifo')}: not a regular file (a device, FIFO or socket)`,
    ])
  })

  test('permission denied names the code and who the service runs as', () => {
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })
    const found = problems({ USERSIG_APPS_FILE: '/run/secrets/apps.json' }, () => {
      throw denied
    })
    expect(found).toEqual([
      `USERSIG_APPS_FILE: cannot read /run/secrets/apps.json: permission denied (EACCES); the service runs as uid ${process.getuid?.()}, gid ${process.getgid?.()}`,
      'USERSIG_CLIENTS: not set (nor USERSIG_CLIENTS_FILE); configure at least one caller (or JWT callers)',
    ])
  })

  testIf(process.getuid?.() !== 0, 'root reads any file, whatever its mode')(
    'a file the service may not read: EACCES, from the real file system',
    () => {
      const path = file('apps.json', JSON.stringify(apps))
      chmodSync(path, 0o000)
      expect(
        problems({ USERSIG_APPS_FILE: path, USERSIG_CLIENTS: JSON.stringify(clients) }),
      ).toEqual([
        expect.stringMatching(
          /^USERSIG_APPS_FILE: cannot read .*: permission denied \(EACCES\); the service runs as uid \d+/,
        ),
      ])
    },
  )

  test.each([
    ['empty', '', 'empty'],
    ['only white space', ' \n\t\n', 'only white space'],
  ])('an %s file is refused, never read as "nothing configured"', (_, text, said) => {
    const path = file('clients.json', text)
    const env = { USERSIG_APPS: JSON.stringify(apps), USERSIG_CLIENTS_FILE: path }
    expect(problems(env)).toEqual([
      `USERSIG_CLIENTS_FILE: ${path} is ${said}; an empty file is never read as "nothing configured"`,
    ])
    // Alone, outside production, where "nothing configured" would mean the development default.
    expect(problems({ USERSIG_APPS_FILE: file('apps.json', text) })).toEqual([
      `USERSIG_APPS_FILE: ${join(dir, 'apps.json')} is ${said}; an empty file is never read as "nothing configured"`,
      'USERSIG_CLIENTS: not set (nor USERSIG_CLIENTS_FILE); configure at least one caller (or JWT callers)',
    ])
  })

  test('with JWT callers, an empty clients file is still refused, not read as "no static callers"', () => {
    const path = file('clients.json', '')
    expect(
      problems({
        USERSIG_APPS: JSON.stringify(apps),
        USERSIG_CLIENTS_FILE: path,
        USERSIG_JWT_ISSUER: 'i',
        USERSIG_JWT_AUDIENCE: 'a',
        USERSIG_JWKS_URL: 'https://idp.example.com/jwks',
      }),
    ).toEqual([
      `USERSIG_CLIENTS_FILE: ${path} is empty; an empty file is never read as "nothing configured"`,
    ])
  })

  test('an empty JWT secret file is refused', () => {
    const path = file('jwt', '\n')
    expect(
      problems({
        USERSIG_APPS: JSON.stringify(apps),
        USERSIG_JWT_ISSUER: 'i',
        USERSIG_JWT_AUDIENCE: 'a',
        USERSIG_JWT_SECRET_FILE: path,
      }),
    ).toEqual([
      `USERSIG_JWT_SECRET_FILE: ${path} is only white space; an empty file is never read as "nothing configured"`,
    ])
  })

  test('a file over the size limit is refused before it is read', () => {
    const path = file('apps.json', ' '.repeat(MAX_FILE_BYTES + 1))
    expect(problems({ USERSIG_APPS_FILE: path, USERSIG_CLIENTS: JSON.stringify(clients) })).toEqual(
      [`USERSIG_APPS_FILE: cannot read ${path}: larger than ${MAX_FILE_BYTES} bytes (EFBIG)`],
    )
  })

  test('problems inside a file name the _FILE variable, not the inline one', () => {
    const broken = { [APP]: { keys: [{ id: 'k1', secret: 'short' }] } }
    expect(problems(withFiles(JSON.stringify(broken)))).toEqual([
      `USERSIG_APPS_FILE: app "${APP}": key "k1": secret must be a string of at least 32 characters without surrounding white space (the console key is 64)`,
    ])
    const unknownScope = [{ ...clients[0], scopes: ['usersig:admin'] }]
    expect(problems(withFiles(JSON.stringify(apps), JSON.stringify(unknownScope)))).toEqual([
      'USERSIG_CLIENTS_FILE: client "backend": unknown scope "usersig:admin"; known: usersig:issue, usersig:verify, privatemapkey:issue, usersig:issue-admin',
    ])
  })

  test('a file with a byte order mark reads as JSON', () => {
    const config = loadConfig({ NODE_ENV: 'test', ...withFiles(`\uFEFF${JSON.stringify(apps)}`) })
    expect([...config.policy.apps.keys()]).toEqual([APP])
  })
})

describe('JSON mistakes: a line and a column, never the text', () => {
  const pretty = (value: unknown) => JSON.stringify(value, null, 2)

  test.each([
    [
      'a trailing comma',
      pretty(apps).replace(`"${secretA}"`, `"${secretA}",`),
      'line 7, column 7: a property name in double quotes was expected (a trailing comma?)',
    ],
    [
      'a missing comma',
      pretty(apps).replace(`"k1",`, `"k1"`),
      'line 6, column 9: a "," was expected',
    ],
    [
      'a comment',
      `// the apps\n${pretty(apps)}`,
      'line 1, column 1: a comment, which JSON does not allow',
    ],
    [
      'single quotes',
      pretty(apps).replace('"k1"', "'k1'"),
      'line 5, column 15: an unexpected character',
    ],
    [
      'a line break in a secret',
      pretty(apps).replace(secretA, `${secretA.slice(0, 32)}\n${secretA.slice(32)}`),
      'line 6, column 19: a string that does not end on its line',
    ],
    ['a cut-off file', pretty(apps).slice(0, 60), 'line 5, column 19: a "}" was expected'],
  ])('%s', (_, text, where) => {
    expect(problems(withFiles(text))).toEqual([`USERSIG_APPS_FILE: not valid JSON: ${where}`])
  })

  test('inline variables get the same line and column', () => {
    expect(
      problems({ USERSIG_APPS: '{"1400000000": }', USERSIG_CLIENTS: JSON.stringify(clients) }),
    ).toEqual([
      'USERSIG_APPS: not valid JSON: line 1, column 16: a value was expected (a trailing comma?)',
    ])
  })
})

describe('a key given twice is refused, naming the key (JSON.parse keeps the last)', () => {
  test('an SDKAppID given twice', () => {
    const text = `{\n  "${APP}": { "keys": [{ "id": "old", "secret": "${secretA}" }] },\n  "${APP}": { "keys": [{ "id": "new", "secret": "${secretB}" }] }\n}`
    expect(problems(withFiles(text))).toEqual([
      `USERSIG_APPS_FILE: line 3, column 3: "${APP}" is given twice in one object`,
    ])
  })

  test('a field given twice inside a key, and inside a client', () => {
    const appsText = `{"${APP}": {"keys": [{"id": "k1", "secret": "${secretA}", "secret": "${secretB}"}]}}`
    const clientsText = JSON.stringify(clients).replace('"scopes"', '"apps":[1],"scopes"')
    expect(problems(withFiles(appsText, clientsText))).toEqual([
      'USERSIG_APPS_FILE: line 1, column 117: "secret" is given twice in one object',
      expect.stringMatching(
        /^USERSIG_CLIENTS_FILE: line 1, column \d+: "apps" is given twice in one object$/,
      ),
    ])
  })

  test('a long key is named by its length only: it may be a secret pasted in the wrong place', () => {
    const text = `{"${APP}": {"keys": [], "${secretA}": 1, "${secretA}": 2}}`
    expect(problems(withFiles(text))).toEqual([
      'USERSIG_APPS_FILE: line 1, column 100: a string of 64 characters is given twice in one object',
    ])
  })
})

describe('one mistake, one message', () => {
  test('a broken app granted to many clients is reported once, by the app', () => {
    const broken = { [APP]: { keys: [{ id: 'k1', secret: 'short' }] } }
    const many = ['a', 'b', 'c'].map((id) => ({ ...clients[0], id, token: token + id }))
    expect(
      problems({ USERSIG_APPS: JSON.stringify(broken), USERSIG_CLIENTS: JSON.stringify(many) }),
    ).toEqual([
      `USERSIG_APPS: app "${APP}": key "k1": secret must be a string of at least 32 characters without surrounding white space (the console key is 64)`,
    ])
  })

  test('an app whose key is no SDKAppID is that one message, whatever else is wrong with it', () => {
    expect(
      problems({
        USERSIG_APPS: JSON.stringify({ ...apps, app1: { keys: 'none', maxExpire: -1 } }),
        USERSIG_CLIENTS: JSON.stringify(clients),
      }),
    ).toEqual([
      'USERSIG_APPS: app "app1": the key must be an SDKAppID (an integer from 1 to 4294967295)',
    ])
  })

  test('unreadable apps are not reported again by every client', () => {
    const many = ['a', 'b'].map((id) => ({ ...clients[0], id, token: token + id }))
    expect(problems({ USERSIG_APPS: '{', USERSIG_CLIENTS: JSON.stringify(many) })).toEqual([
      'USERSIG_APPS: not valid JSON: line 1, column 2: a "}" was expected',
    ])
  })

  test('a key without a usable id is reported by its index, for its id only', () => {
    const keys = [{ id: 'has space', secret: 'short', extra: 1 }]
    expect(
      problems({
        USERSIG_APPS: JSON.stringify({ [APP]: { keys } }),
        USERSIG_CLIENTS: JSON.stringify(clients),
      }),
    ).toEqual([
      `USERSIG_APPS: app "${APP}": keys[0]: unknown field "extra"`,
      `USERSIG_APPS: app "${APP}": keys[0]: id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -`,
    ])
  })

  test('an unknown field in a key is refused, like one in an app or a client', () => {
    const keys = [{ id: 'k1', secret: secretA, secert: secretB }]
    expect(
      problems({
        USERSIG_APPS: JSON.stringify({ [APP]: { keys } }),
        USERSIG_CLIENTS: JSON.stringify([{ ...clients[0], scope: [] }]),
      }),
    ).toEqual([
      `USERSIG_APPS: app "${APP}": key "k1": unknown field "secert"`,
      'USERSIG_CLIENTS: client "backend": unknown field "scope"',
    ])
  })
})

describe('the apps folder layout of a Kubernetes Secret', () => {
  test('files reached through ..data symlinks are read', () => {
    mkdirSync(join(dir, '..v1'))
    writeFileSync(join(dir, '..v1', 'apps.json'), JSON.stringify(apps))
    execFileSync('ln', ['-s', '..v1', join(dir, '..data')])
    execFileSync('ln', ['-s', '..data/apps.json', join(dir, 'apps.json')])
    const config = loadConfig({
      NODE_ENV: 'test',
      USERSIG_APPS_FILE: join(dir, 'apps.json'),
      USERSIG_CLIENTS: JSON.stringify(clients),
    })
    expect(config.policy.apps.get(APP)?.signingKey.id).toBe('k1')
  })
})

describe('any document at all: a ConfigError or a configuration, never a crash', () => {
  // Shapes near the real ones, with any JSON where a field goes, reach the rules across fields.
  const anything = fc.jsonValue({ maxDepth: 3 })
  const key = fc.record(
    {
      id: fc.oneof(fc.constantFrom('k1', 'k2'), anything),
      secret: fc.oneof(fc.constant(secretA), anything),
    },
    { requiredKeys: [] },
  )
  const appsDocument = fc.oneof(
    anything,
    fc.dictionary(
      fc.oneof(fc.constant(String(APP)), fc.string({ maxLength: 12 })),
      fc.oneof(
        anything,
        fc.record(
          {
            keys: fc.oneof(fc.array(key, { maxLength: 3 }), anything),
            defaultExpire: anything,
            minExpire: anything,
            maxExpire: anything,
            userIdPolicy: anything,
          },
          { requiredKeys: [] },
        ),
      ),
      { maxKeys: 3 },
    ),
  )
  const client = fc.record(
    {
      id: fc.oneof(fc.constantFrom('a', 'b'), anything),
      token: fc.oneof(fc.constant(token), anything),
      tokenSha256: fc.oneof(fc.constant('ab'.repeat(32)), anything),
      apps: fc.oneof(fc.constant([APP]), anything),
      scopes: fc.oneof(fc.constant(['usersig:issue']), anything),
      rateLimitPerMinute: anything,
    },
    { requiredKeys: [] },
  )
  const clientsDocument = fc.oneof(anything, fc.array(fc.oneof(client, anything), { maxLength: 3 }))

  test('fast-check: apps and clients of any shape', () => {
    fc.assert(
      fc.property(appsDocument, clientsDocument, fc.boolean(), (apps, clients, production) => {
        try {
          loadConfig({
            NODE_ENV: production ? 'production' : 'test',
            METRICS_PORT: '9100',
            USERSIG_APPS: JSON.stringify(apps) ?? 'null',
            USERSIG_CLIENTS: JSON.stringify(clients) ?? 'null',
          })
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error
          for (const problem of error.problems) {
            expect(problem).toMatch(/^USERSIG_(APPS|CLIENTS): /)
            expect(problem).not.toContain(secretA)
            expect(problem).not.toContain(token)
          }
        }
      }),
      { numRuns: 500 },
    )
  })
})
