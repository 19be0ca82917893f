// Per-caller rate limits (express-rate-limit), keyed by the authenticated caller, not the IP.
import type { RequestHandler } from 'express'
import { rateLimit } from 'express-rate-limit'
import type { Config } from '../config.js'
import { ServiceError } from '../errors.js'
import { callerOf } from './authenticate.js'

const WINDOW_MS = 60_000

/**
 * Limits each caller to its `rateLimitPerMinute` (or the configured default) in a one-minute
 * window, answering 429 `rate_limited` with the standard RateLimit headers. The counts live in
 * this process: with several replicas or workers, a caller's total is the limit times their number.
 */
export function createRateLimit(): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS,
    // 0 means no limit for the default; express-rate-limit treats 0 as "block all", so map it.
    limit: (_req, res) => {
      const perMinute =
        callerOf(res).rateLimitPerMinute ?? (res.locals.config as Config).rateLimitPerMinute
      return perMinute === 0 ? Number.MAX_SAFE_INTEGER : perMinute
    },
    keyGenerator: (_req, res) => `${callerOf(res).via}:${callerOf(res).id}`,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // The key is the caller, never an address: the proxy checks do not apply.
    validate: { trustProxy: false, xForwardedForHeader: false, keyGeneratorIpFallback: false },
    handler: (_req, _res, next) => next(new ServiceError('rate_limited')),
  })
}
