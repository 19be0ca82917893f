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
    /** More about the reason, for the log only: never the token, never shown to the caller. */
    readonly note?: string,
  ) {
    super('unauthorized', undefined, { cause })
  }
}

/** At most one line per reason per this many milliseconds. */
export const AUTH_FAILURE_WINDOW_MS = 10_000

/**
 * Logs failed authentications at info, aggregated: the first failure of a reason (and note) at
 * once (count 1), then, while such failures keep coming, one line per window with their count.
 * Notes come only from tokens the service has verified (an identity provider's invalid claim),
 * so a flood of made-up tokens cannot multiply the lines.
 */
export function createAuthFailureLog(
  logger: Logger | undefined,
  windowMs = AUTH_FAILURE_WINDOW_MS,
): (reason: AuthFailureReason, note?: string) => void {
  interface Window {
    readonly key: string
    readonly reason: AuthFailureReason
    readonly note: string | undefined
    count: number
  }
  const pending = new Map<string, Window>()
  const log = ({ reason, note }: Window, count: number) =>
    logger?.info(
      {
        audit: 'auth.failed',
        reason,
        ...(note === undefined ? {} : { note }),
        count,
        windowSeconds: windowMs / 1000,
      },
      'authentication failed',
    )
  const closeWindow = (window: Window) => {
    if (window.count === 0) return void pending.delete(window.key)
    log(window, window.count)
    window.count = 0
    setTimeout(closeWindow, windowMs, window).unref()
  }
  return (reason, note) => {
    const key = note === undefined ? reason : `${reason}\n${note}`
    const window = pending.get(key)
    if (window !== undefined) return void (window.count += 1)
    const opened: Window = { key, reason, note, count: 0 }
    log(opened, 1)
    pending.set(key, opened)
    setTimeout(closeWindow, windowMs, opened).unref()
  }
}
