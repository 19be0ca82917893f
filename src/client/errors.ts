// What a call can fail with: the service's answer (UserSigApiError), no answer in time
// (UserSigTimeoutError), or no answer at all (UserSigNetworkError). All are UserSigError. Their
// messages come from the answer or the failure, never from the request, so they never hold the
// token.
import type { components } from '../contract/schema.js'

type Problem = components['schemas']['Problem']
type ErrorCode = components['schemas']['ErrorCode']

/** Any failure of a call to the service. */
export class UserSigError extends Error {
  override readonly name: string = 'UserSigError'
}

/**
 * A non-2xx answer. `code`, `detail` and `problem` come from the `application/problem+json` body
 * (RFC 9457); they are undefined when the body was not a problem document (e.g. a proxy's page).
 */
export class UserSigApiError extends UserSigError {
  override readonly name = 'UserSigApiError'
  readonly status: number
  readonly code: ErrorCode | undefined
  readonly detail: string | undefined
  readonly problem: Problem | undefined
  /** The answer's headers (`Retry-After`, `RateLimit`, `X-Request-Id`, ...). */
  readonly headers: Headers
  /** How long the service asked to wait (`Retry-After`, seconds or an HTTP date), in ms. */
  readonly retryAfterMs: number | undefined

  constructor(response: Response, body: unknown) {
    const problem = isProblem(body) ? body : undefined
    super(
      `${response.status} ${problem?.code ?? 'unexpected_response'}: ${problem?.detail ?? problem?.title ?? response.statusText}`,
    )
    this.status = response.status
    this.code = problem?.code
    this.detail = problem?.detail
    this.problem = problem
    this.headers = response.headers
    this.retryAfterMs = retryAfterMs(response.headers.get('retry-after'), Date.now())
  }
}

/** No whole answer within `timeoutMs`: no headers, or a body that stalled. */
export class UserSigTimeoutError extends UserSigError {
  override readonly name = 'UserSigTimeoutError'
  readonly timeoutMs: number

  constructor(timeoutMs: number) {
    super(`no whole answer within ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
  }
}

/** No answer: the connection was refused or reset, the name did not resolve, the answer broke off. */
export class UserSigNetworkError extends UserSigError {
  override readonly name = 'UserSigNetworkError'
  /** The system's or undici's code when there is one (`ECONNREFUSED`, `UND_ERR_SOCKET`, ...). */
  readonly code: string | undefined

  constructor(message: string, code: string | undefined, cause?: unknown) {
    super(code === undefined ? message : `${message} (${code})`, { cause })
    this.code = code
  }
}

function isProblem(body: unknown): body is Problem {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as Partial<Problem>).code === 'string' &&
    typeof (body as Partial<Problem>).status === 'number'
  )
}

/**
 * `Retry-After` (RFC 9110, section 10.2.3) in ms from `now`: delay-seconds, or an HTTP date (a
 * date in the past is 0). Undefined when absent or neither.
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // Date.parse reads IMF-fixdate and the two obsolete forms HTTP allows; anything with a letter
  // for a weekday, month or zone.
  const at = /[A-Za-z]/.test(text) ? Date.parse(text) : NaN
  return Number.isNaN(at) ? undefined : Math.max(at - now, 0)
}
