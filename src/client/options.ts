// The client's options, checked once at creation: a bad one throws a TypeError naming it (and
// never quoting the token), so a typo fails at start-up rather than on a user's login.
import type { UserSigError } from './errors.js'

export interface UserSigClientOptions {
  /** The service's origin, e.g. `https://usersig.internal:8080` (http:// or https://). */
  readonly baseUrl: string
  /** The caller's bearer token (a static token or a JWT). */
  readonly token: string
  /**
   * How long one attempt may take, answer body included, in ms (default 5000). Longer than the
   * service's own 3 s JWKS fetch, so a JWT caller gets the service's 503 rather than a timeout.
   */
  readonly timeoutMs?: number
  /** Retries of 429, 502, 503, 504 and network errors: off by default; `true` for the defaults. */
  readonly retry?: boolean | RetryOptions
  /** A fetch implementation; defaults to the global `fetch`. */
  readonly fetch?: (input: Request) => Promise<Response>
}

export interface RetryOptions {
  /** Attempts in all, the first included: 1 to 10 (default 3). */
  readonly attempts?: number
  /**
   * The whole call, every attempt and wait included, in ms (default 10000). A wait that would end
   * past it (a long Retry-After) is not waited: the call fails at once with the last error.
   */
  readonly totalMs?: number
  /** The first back-off's ceiling in ms (default 200); it doubles at each retry. */
  readonly baseDelayMs?: number
  /** The largest back-off in ms (default 2000); a Retry-After may ask for longer, within totalMs. */
  readonly maxDelayMs?: number
  /**
   * The statuses retried (default 429, 502, 503, 504): 429 and 5xx only. 500 is not retried by
   * default: it is a bug, which the same request meets again, not load.
   */
  readonly statuses?: readonly number[]
  /** Called before each wait, e.g. to log or count retries. */
  readonly onRetry?: (event: RetryEvent) => void
}

export interface RetryEvent {
  /** The attempt that failed: 1 for the first. */
  readonly attempt: number
  /** How long the client waits before the next one. */
  readonly delayMs: number
  readonly error: UserSigError
}

/** The options as the client uses them. */
export interface ClientSettings {
  readonly baseUrl: string
  readonly token: string
  readonly timeoutMs: number
  readonly retry: RetrySettings | null
  readonly fetch: (input: Request) => Promise<Response>
}

export interface RetrySettings {
  readonly attempts: number
  readonly totalMs: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  readonly statuses: ReadonlySet<number>
  readonly onRetry: ((event: RetryEvent) => void) | undefined
}

export const DEFAULT_TIMEOUT_MS = 5_000
export const DEFAULT_RETRY = {
  attempts: 3,
  totalMs: 10_000,
  baseDelayMs: 200,
  maxDelayMs: 2_000,
  statuses: [429, 502, 503, 504],
} as const

// setTimeout's largest delay.
const MAX_MS = 2 ** 31 - 1
// The service's own rule for a bearer token.
const TOKEN = /^[\x21-\x7e]{1,4096}$/

export function checkClientOptions(options: UserSigClientOptions): ClientSettings {
  const where = 'createUserSigClient'
  const given = checkKeys(where, options, ['baseUrl', 'token', 'timeoutMs', 'retry', 'fetch'])
  const { baseUrl, token, timeoutMs, retry, fetch } = given as Partial<UserSigClientOptions>
  if (typeof baseUrl !== 'string' || !/^https?:\/\//i.test(baseUrl) || !URL.canParse(baseUrl))
    fail(where, '`baseUrl` must be an http:// or https:// URL, e.g. http://127.0.0.1:8080')
  const url = new URL(baseUrl)
  if (url.username !== '' || url.password !== '')
    fail(where, '`baseUrl` must not hold a user name or password: give the token as `token`')
  if (url.search !== '' || url.hash !== '')
    fail(where, '`baseUrl` must not have a query or a fragment')
  if (typeof token !== 'string' || !TOKEN.test(token))
    fail(where, '`token` must be 1 to 4096 visible ASCII characters, without whitespace')
  if (fetch !== undefined && typeof fetch !== 'function') fail(where, '`fetch` must be a function')
  return {
    baseUrl,
    token,
    timeoutMs: integer(where, 'timeoutMs', timeoutMs, DEFAULT_TIMEOUT_MS, 1, MAX_MS),
    retry: retrySettings(where, retry),
    fetch: fetch ?? ((input) => globalThis.fetch(input)),
  }
}

function retrySettings(where: string, retry: unknown): RetrySettings | null {
  if (retry === undefined || retry === false) return null
  if (retry !== true && (typeof retry !== 'object' || retry === null))
    fail(where, '`retry` must be true, false or an object of retry options')
  const given = checkKeys(where, retry === true ? {} : retry, [...RETRY_KEYS], 'retry.')
  const o = given as RetryOptions
  const baseDelayMs = integer(
    where,
    'retry.baseDelayMs',
    o.baseDelayMs,
    DEFAULT_RETRY.baseDelayMs,
    1,
    MAX_MS,
  )
  const maxDelayMs = integer(
    where,
    'retry.maxDelayMs',
    o.maxDelayMs,
    DEFAULT_RETRY.maxDelayMs,
    1,
    MAX_MS,
  )
  if (maxDelayMs < baseDelayMs)
    fail(where, '`retry.maxDelayMs` must be at least `retry.baseDelayMs`')
  const statuses = o.statuses ?? DEFAULT_RETRY.statuses
  if (
    !Array.isArray(statuses) ||
    statuses.some((s) => !Number.isInteger(s) || (s !== 429 && (s < 500 || s > 599)))
  )
    fail(where, '`retry.statuses` must be a list of 429 and 5xx statuses (other 4xx never succeed)')
  if (o.onRetry !== undefined && typeof o.onRetry !== 'function')
    fail(where, '`retry.onRetry` must be a function')
  return {
    attempts: integer(where, 'retry.attempts', o.attempts, DEFAULT_RETRY.attempts, 1, 10),
    totalMs: integer(where, 'retry.totalMs', o.totalMs, DEFAULT_RETRY.totalMs, 1, MAX_MS),
    baseDelayMs,
    maxDelayMs,
    statuses: new Set(statuses),
    onRetry: o.onRetry,
  }
}

const RETRY_KEYS = [
  'attempts',
  'totalMs',
  'baseDelayMs',
  'maxDelayMs',
  'statuses',
  'onRetry',
] as const satisfies readonly (keyof RetryOptions)[]

/** The object, when it has only known keys: a misspelt option fails instead of being ignored. */
export function checkKeys(
  where: string,
  options: unknown,
  known: readonly string[],
  prefix = '',
): object {
  if (typeof options !== 'object' || options === null)
    fail(where, prefix === '' ? 'the options must be an object' : '`retry` must be an object')
  const unknown = Object.keys(options).filter((key) => !known.includes(key))
  // The name only: an option's value may be the token.
  if (unknown.length > 0)
    fail(where, `unknown option \`${prefix}${unknown[0]}\` (known: ${known.join(', ')})`)
  return options
}

/** The value, or `fallback` when undefined; an integer from `min` to `max`, or a TypeError. */
export function integer(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    fail(where, `\`${name}\` must be an integer from ${min} to ${max}`)
  return value
}

export function fail(where: string, message: string): never {
  throw new TypeError(`${where}: ${message}`)
}
