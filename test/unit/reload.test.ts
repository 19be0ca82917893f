// The reloader, on files that change between reads: the configuration in force at start and the
// reloader's baseline are one read, so no change is ever taken for "unchanged"; every reload
// reads again; an empty or invalid file is rejected whole and the policy in force stays.
import { randomBytes } from 'node:crypto'
import { ConfigError, loadConfig, loadPolicy, WARNINGS } from '../../src/config/index.js'
import { LiveConfig } from '../../src/live-config.js'
import { createLogger } from '../../src/logger.js'
import { createMetrics } from '../../src/metrics.js'
import { createReloader, readRecorded } from '../../src/reload.js'

const APP = 1400000000
const env = {
  NODE_ENV: 'production',
  // /metrics on its own listener: no metrics_public warning in these tests
  METRICS_PORT: '9100',
  USERSIG_APPS_FILE: '/run/secrets/usersig/apps.json',
  USERSIG_CLIENTS_FILE: '/run/secrets/usersig/clients.json',
}
const appsWith = (...ids: string[]) =>
  JSON.stringify({
    [APP]: { keys: ids.map((id) => ({ id, secret: randomBytes(32).toString('hex') })) },
  })
const clients = JSON.stringify([
  { id: 'backend', tokenSha256: 'ab'.repeat(32), apps: [APP], scopes: ['usersig:issue'] },
])

/** Files in memory, and every read of them. */
function fakeFiles(initial: Record<string, string>) {
  const files = { ...initial }
  const reads: string[] = []
  return {
    files,
    reads,
    readFile(path: string): string {
      reads.push(path)
      const text = files[path]
      if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
      return text
    },
  }
}

/** A supported Node.js, so that the warnings are the configuration's whatever Node runs the tests. */
const SUPPORTED = { nodeVersion: '26.1.0', today: new Date('2026-12-05T12:00:00Z') }

function setUp(fs: ReturnType<typeof fakeFiles>, between?: () => void) {
  const first = readRecorded(fs.readFile, (read) => loadConfig(env, read, { runtime: SUPPORTED }))
  between?.()
  const live = new LiveConfig(first.value)
  const lines: Record<string, unknown>[] = []
  const logger = createLogger('info', {
    write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
  })
  const reloader = createReloader({
    live,
    baseline: first.digest,
    load: (read) => loadPolicy(env, live.process.jwt, read),
    readFile: fs.readFile,
    logger,
    metrics: createMetrics(live, { defaults: false }),
  })
  const keyIds = () => live.current.policy.apps.get(APP)?.keys.map((key) => key.id)
  return { live, reloader, lines, keyIds }
}

test('a change made right after the first read is a change, not "unchanged"', () => {
  const fs = fakeFiles({
    [env.USERSIG_APPS_FILE]: appsWith('old'),
    [env.USERSIG_CLIENTS_FILE]: clients,
  })
  // The file changes after the first read and before anything else happens.
  const { reloader, keyIds, live } = setUp(fs, () => {
    fs.files[env.USERSIG_APPS_FILE] = appsWith('new', 'old')
  })
  expect(keyIds()).toEqual(['old'])
  expect(reloader.reload('SIGHUP')).toBe('success')
  expect(keyIds()).toEqual(['new', 'old'])
  expect(live.generation).toBe(2)
})

test('every reload reads the files again; the same content is "unchanged", and keeps the generation', () => {
  const fs = fakeFiles({
    [env.USERSIG_APPS_FILE]: appsWith('k1'),
    [env.USERSIG_CLIENTS_FILE]: clients,
  })
  const { reloader, live } = setUp(fs)
  const before = fs.reads.length
  expect(reloader.reload('SIGHUP')).toBe('unchanged')
  expect(reloader.reload('SIGHUP')).toBe('unchanged')
  expect(fs.reads.length).toBe(before + 4)
  expect(live.generation).toBe(1)
})

test.each([
  ['truncated to nothing', ''],
  ['left with a line break', '\n'],
])('a clients file %s is rejected: the callers in force stay', (_, text) => {
  const fs = fakeFiles({
    [env.USERSIG_APPS_FILE]: appsWith('k1'),
    [env.USERSIG_CLIENTS_FILE]: clients,
  })
  const { reloader, live, lines } = setUp(fs)
  fs.files[env.USERSIG_CLIENTS_FILE] = text
  expect(reloader.reload('file changed')).toBe('rejected')
  expect(live.current.policy.clients.map((c) => c.id)).toEqual(['backend'])
  expect(live.generation).toBe(1)
  expect(lines.at(-1)).toMatchObject({
    level: 50,
    reason: 'file changed',
    generation: 1,
    problems: [
      `USERSIG_CLIENTS_FILE: ${env.USERSIG_CLIENTS_FILE} is ${text === '' ? 'empty' : 'only white space'}; an empty file is never read as "nothing configured"`,
    ],
    msg: 'configuration reload rejected; the previous configuration stays in force',
  })
})

test('an empty file refuses the start: no configuration is made of it', () => {
  const fs = fakeFiles({ [env.USERSIG_APPS_FILE]: appsWith('k1'), [env.USERSIG_CLIENTS_FILE]: '' })
  expect(() => readRecorded(fs.readFile, (read) => loadConfig(env, read))).toThrow(ConfigError)
})

test('a duplicated key on reload is rejected, naming it', () => {
  const fs = fakeFiles({
    [env.USERSIG_APPS_FILE]: appsWith('k1'),
    [env.USERSIG_CLIENTS_FILE]: clients,
  })
  const { reloader, lines, keyIds } = setUp(fs)
  const apps = appsWith('k2')
  fs.files[env.USERSIG_APPS_FILE] = `{${apps.slice(1, -1)}, ${apps.slice(1, -1)}}`
  expect(reloader.reload('SIGHUP')).toBe('rejected')
  expect(keyIds()).toEqual(['k1'])
  expect(lines.at(-1)?.problems).toEqual([
    expect.stringMatching(
      /^USERSIG_APPS_FILE: line 1, column \d+: "1400000000" is given twice in one object$/,
    ),
  ])
})

test('a successful reload logs the keys by id and the warnings again, with their codes', () => {
  const year = 365 * 86_400
  const fs = fakeFiles({
    [env.USERSIG_APPS_FILE]: appsWith('k1'),
    [env.USERSIG_CLIENTS_FILE]: clients,
  })
  const { reloader, lines } = setUp(fs)
  const long = JSON.parse(appsWith('k2')) as Record<string, object>
  fs.files[env.USERSIG_APPS_FILE] = JSON.stringify({
    [APP]: { ...long[APP], maxExpire: year, defaultExpire: 86_400 },
  })
  expect(reloader.reload('SIGHUP')).toBe('success')
  expect(lines.slice(-2)).toEqual([
    expect.objectContaining({
      msg: 'configuration reloaded',
      generation: 2,
      apps: [{ sdkAppId: APP, primaryKeyId: 'k2', keyIds: ['k2'] }],
    }),
    expect.objectContaining({
      level: 40,
      warning: 'long_expiry',
      fix: WARNINGS.long_expiry,
      msg: expect.stringMatching(
        /^USERSIG_APPS_FILE: app "1400000000": maxExpire is 365 days, over 180/,
      ),
    }),
  ])
})
