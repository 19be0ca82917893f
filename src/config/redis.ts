// Where the shared rate-limit count lives: USERSIG_REDIS_URL, or the file USERSIG_REDIS_URL_FILE
// names (the URL carries the password, so a mounted Secret is the usual home). A process setting:
// the connection is made at start, and changing it needs a restart.
import { inspect } from 'node:util'
import { checkSecretFile } from './file-access.js'
import type { Findings } from './findings.js'
import { readSource, type Env, type ReadFile } from './sources.js'

export const REDIS_VARIABLES = ['USERSIG_REDIS_URL', 'USERSIG_REDIS_URL_FILE'] as const

/** A Redis (or Valkey, or any Redis-protocol server) to count in. Printing it never shows the password. */
export interface RedisSettings {
  /** `redis://host:port/db` without user or password: what logs and /readyz may say. */
  readonly display: string
  /** The whole URL, credentials included: for the client only, never printed (not enumerable). */
  readonly url: string
}

const SHAPE =
  'must be a redis:// or rediss:// URL with a host, e.g. rediss://:PASSWORD@redis.internal:6380/0'

/** Reads the Redis settings; null when none is configured or when the value is refused (a problem). */
export function readRedisSettings(
  env: Env,
  readFile: ReadFile,
  findings: Findings,
): RedisSettings | null {
  const source = readSource(env, 'USERSIG_REDIS_URL', readFile, findings)
  if (source === undefined || source === null) return null
  if (source.path !== null) checkSecretFile(source.variable, source.path, findings)
  const text = source.text.trim()
  // Never quote the value in a problem: it holds the password.
  let url: URL
  try {
    url = new URL(text)
  } catch {
    findings.problem(`${source.variable}: ${SHAPE}`)
    return null
  }
  const database = url.pathname.replace(/^\//, '')
  if (
    (url.protocol !== 'redis:' && url.protocol !== 'rediss:') ||
    url.hostname === '' ||
    !/^([0-9]{1,2})?$/.test(database) ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    findings.problem(`${source.variable}: ${SHAPE} (a database number at most, no query)`)
    return null
  }
  const display = `${url.protocol}//${url.host}${database === '' ? '' : `/${database}`}`
  const settings = { display } as RedisSettings
  Object.defineProperties(settings, {
    url: { value: text, enumerable: false },
    toJSON: { value: () => ({ display }) },
    [inspect.custom]: { value: () => `RedisSettings { display: '${display}' }` },
  })
  return Object.freeze(settings)
}
