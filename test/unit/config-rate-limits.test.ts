// Where rate limits count: USERSIG_RATE_LIMIT_SCOPE and the Redis URL (USERSIG_REDIS_URL or the
// file USERSIG_REDIS_URL_FILE). A URL that is not one refuses the start naming the variable and
// never quoting the value (it holds the password); the password never prints.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { ConfigError, loadConfig } from '../../src/config/index.js'
import { TEST_ENV } from '../helpers/http.js'

const PASSWORD = 'hunter2-correct-horse-battery'
const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig({ ...TEST_ENV, ...env })
    return []
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return [...error.problems]
  }
}
const settings = (env: Record<string, string>) => loadConfig({ ...TEST_ENV, ...env }).process

describe('USERSIG_RATE_LIMIT_SCOPE', () => {
  test('by default the machine, or the fleet when a Redis URL is set', () => {
    expect(settings({}).rateLimitScope).toBe('machine')
    expect(settings({ USERSIG_REDIS_URL: 'redis://redis:6379' }).rateLimitScope).toBe('fleet')
    expect(settings({ USERSIG_RATE_LIMIT_SCOPE: 'process' }).rateLimitScope).toBe('process')
  })

  test('the fleet needs Redis, and Redis is only for the fleet', () => {
    expect(problems({ USERSIG_RATE_LIMIT_SCOPE: 'fleet' })).toEqual([
      'USERSIG_RATE_LIMIT_SCOPE: fleet counts in Redis: set USERSIG_REDIS_URL (or _FILE)',
    ])
    expect(
      problems({ USERSIG_RATE_LIMIT_SCOPE: 'machine', USERSIG_REDIS_URL: 'redis://redis:6379' }),
    ).toEqual([
      'USERSIG_RATE_LIMIT_SCOPE: machine counts without Redis, but USERSIG_REDIS_URL is set: unset one of them',
    ])
    expect(problems({ USERSIG_RATE_LIMIT_SCOPE: 'everyone' })[0]).toMatch(
      /^USERSIG_RATE_LIMIT_SCOPE: /,
    )
  })
})

describe('the Redis URL', () => {
  test.each([
    ['redis://:PASSWORD@redis.internal:6379/0', 'redis://redis.internal:6379/0'],
    ['rediss://user:PASSWORD@redis.example.com:6380', 'rediss://redis.example.com:6380'],
    ['redis://127.0.0.1', 'redis://127.0.0.1'],
  ])('%s is taken; it shows as %s, never with its password', (url, display) => {
    const { redis } = settings({ USERSIG_REDIS_URL: url.replace('PASSWORD', PASSWORD) })
    expect(redis?.display).toBe(display)
    expect(redis?.url).toBe(url.replace('PASSWORD', PASSWORD))
    expect(JSON.stringify(redis)).not.toContain(PASSWORD)
    expect(inspect(redis, { showHidden: true, depth: 5 })).not.toContain(PASSWORD)
    expect(`${JSON.stringify(settings({ USERSIG_REDIS_URL: url }))}`).not.toContain('PASSWORD')
  })

  test.each([
    ['no scheme', `:${PASSWORD}@redis:6379`],
    ['another scheme', `http://:${PASSWORD}@redis:6379`],
    ['no host', `redis://:${PASSWORD}@/0`],
    ['a database that is not a number', `redis://:${PASSWORD}@redis:6379/zero`],
    ['a query', `redis://:${PASSWORD}@redis:6379/0?tls=true`],
    ['not a URL at all', `redis//:${PASSWORD}@redis`],
  ])('%s: refused, naming the variable, never quoting the value', (_, url) => {
    const found = problems({ USERSIG_REDIS_URL: url })
    expect(found).toHaveLength(1)
    expect(found[0]).toMatch(/^USERSIG_REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/)
    expect(found.join('\n')).not.toContain(PASSWORD)
  })

  test('from a file: the variable used is named, and others reading it is warned about', () => {
    const dir = mkdtempSync(join(tmpdir(), 'usersig-redis-url-'))
    try {
      const file = join(dir, 'redis-url')
      writeFileSync(file, `redis://:${PASSWORD}@redis:6379/0\n`, { mode: 0o600 })
      expect(settings({ USERSIG_REDIS_URL_FILE: file }).redis?.display).toBe('redis://redis:6379/0')
      chmodSync(file, 0o644)
      const warned = loadConfig({
        ...TEST_ENV,
        NODE_ENV: 'production',
        METRICS_PORT: '9100',
        USERSIG_REDIS_URL_FILE: file,
      }).process.warnings
      expect(warned).toContainEqual({
        warning: 'secret_file_permissions',
        message: `USERSIG_REDIS_URL_FILE: ${file} is readable by every user (mode 0644): chmod o-rw`,
      })
      writeFileSync(file, `not a url ${PASSWORD}\n`)
      const found = problems({ USERSIG_REDIS_URL_FILE: file })
      expect(found).toEqual([
        'USERSIG_REDIS_URL_FILE: must be a redis:// or rediss:// URL with a host, e.g. rediss://:PASSWORD@redis.internal:6380/0',
      ])
      expect(problems({ USERSIG_REDIS_URL_FILE: join(dir, 'missing') })[0]).toMatch(
        /^USERSIG_REDIS_URL_FILE: cannot read .*missing/,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
