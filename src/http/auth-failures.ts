// Failed authentications: each refusal carries a reason for the log (never shown to the caller,
// who gets the same 401 whatever the reason), and the log says each reason at most once per
// window, with a count, so a flood of bad tokens is visible without flooding the log.
import { ServiceError } from '../errors.js'
import type { Logger } from '../logger.js'

/** Why a bearer token was refused. */
export type AuthFailureReason =
  | 'no_token' // no Authorization header, or not `Bearer <token>`
  | 'unknown_token' // no static client has it, and it is not a JWT this service accepts
  | 'jwt_expired'
  | 'jwt_signature_invalid'
  | 'jwt_unknown_key' // no key of the identity provider's set has its `kid`
  | 'jwt_claim_invalid' // iss, aud, nbf, a required claim missing, a narrowing claim invalid
  | 'jwt_lifetime_too_long' // exp - iat over USERSIG_JWT_MAX_LIFETIME_SECONDS
  | 'jwt_issued_in_future' // iat ahead of the clock, beyond the tolerance
  | 'jwt_subject_invalid'
  | 'jwt_malformed' // not a JWS, an algorithm refused
  | 'metrics_token' // GET /metrics without the USERSIG_METRICS_TOKEN

/** A 401 that knows why, for the log. */
export class AuthenticationFailed extends ServiceError {
  constructor(
    readonly reason: AuthFailureReason,
    cause?: unknown,
  ) {
    super('unauthorized', undefined, { cause })
  }
}

/** At most one line per reason per this many milliseconds. */
export const AUTH_FAILURE_WINDOW_MS = 10_000

/**
 * Logs failed authentications at info, aggregated: the first failure of a reason at once (count
 * 1), then, while failures of that reason keep coming, one line per window with their count.
 */
export function createAuthFailureLog(
  logger: Logger | undefined,
  windowMs = AUTH_FAILURE_WINDOW_MS,
): (reason: AuthFailureReason) => void {
  const pending = new Map<AuthFailureReason, { count: number }>()
  const log = (reason: AuthFailureReason, count: number) =>
    logger?.info(
      { audit: 'auth.failed', reason, count, windowSeconds: windowMs / 1000 },
      'authentication failed',
    )
  const closeWindow = (reason: AuthFailureReason, window: { count: number }) => {
    if (window.count === 0) return void pending.delete(reason)
    log(reason, window.count)
    window.count = 0
    setTimeout(closeWindow, windowMs, reason, window).unref()
  }
  return (reason) => {
    const window = pending.get(reason)
    if (window !== undefined) return void (window.count += 1)
    log(reason, 1)
    const opened = { count: 0 }
    pending.set(reason, opened)
    setTimeout(closeWindow, windowMs, reason, opened).unref()
  }
}
