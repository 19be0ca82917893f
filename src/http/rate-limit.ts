// Per-caller rate limits, keyed by the authenticated caller, not the IP. Counting is
// express-rate-limit's MemoryStore (fixed one-minute windows, expired entries swept); the
// headers are the IETF draft-8 `RateLimit` and `RateLimit-Policy` fields, as that library writes them.
import { createHash } from 'node:crypto'
import { MemoryStore, type Options } from 'express-rate-limit'
import type { Config } from '../config/index.js'
import { ServiceError } from '../errors.js'
import type { Caller } from './authenticate.js'

const WINDOW_MS = 60_000
const WINDOW_SECONDS = WINDOW_MS / 1000
// Partition keys are cached per caller; JWT subjects are unbounded, so the cache is too, loosely.
const PARTITION_KEY_CACHE = 10_000

/** Counts one request of `caller`: resolves to the RateLimit headers, or rejects with 429 `rate_limited`. */
export type RateLimiter = (caller: Caller, config: Config) => Promise<Record<string, string>>

/**
 * Limits each caller to its `rateLimitPerMinute` (or the configured default; 0 means none) in a
 * one-minute window. The counts live in this process: with several replicas or workers, a
 * caller's total is the limit times their number.
 */
export function createRateLimiter(): RateLimiter {
  const store = new MemoryStore()
  store.init({ windowMs: WINDOW_MS } as Options)
  const partitionKeys = new Map<string, string>()
  const partitionKey = (key: string): string => {
    let pk = partitionKeys.get(key)
    if (pk === undefined) {
      if (partitionKeys.size >= PARTITION_KEY_CACHE) partitionKeys.clear()
      // As express-rate-limit derives it: not the caller's id, a short hash of it.
      const hex = createHash('sha256').update(key).digest('hex').slice(0, 12)
      pk = Buffer.from(hex).toString('base64')
      partitionKeys.set(key, pk)
    }
    return pk
  }
  return async function countRequest(caller, config) {
    const limit = caller.rateLimitPerMinute ?? config.process.rateLimitPerMinute
    if (limit === 0) return {}
    const key = `${caller.via}:${caller.id}`
    const { totalHits, resetTime } = await store.increment(key)
    const reset =
      resetTime === undefined
        ? WINDOW_SECONDS
        : Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000))
    const name = `"${limit}-in-1min"`
    const headers = {
      RateLimit: `${name}; r=${Math.max(limit - totalHits, 0)}; t=${reset}`,
      'RateLimit-Policy': `${name}; q=${limit}; w=${WINDOW_SECONDS}; pk=:${partitionKey(key)}:`,
    }
    if (totalHits > limit) {
      throw new ServiceError('rate_limited', undefined, {
        headers: { ...headers, 'Retry-After': String(reset) },
      })
    }
    return headers
  }
}
