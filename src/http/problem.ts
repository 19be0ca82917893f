// The one error serializer: every failure becomes RFC 9457 problem+json with a stable code.
import { ERRORS, ServiceError, type ErrorCode } from '../errors.js'
import type { Logger } from '../logger.js'
import type { TraceIds } from '../tracing.js'

/**
 * Turns anything thrown into a ServiceError: ours as is, errors of the static trees (Express and
 * its static files) by their status, anything else as a 500.
 */
export function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error
  const status = (error as { status?: unknown } | null)?.status
  const code = typeof status === 'number' ? BY_STATUS[status] : undefined
  return new ServiceError(code ?? 'internal_error', undefined, { cause: error })
}

// What the static trees may pass on (a malformed URL is 400); anything else is a 500.
const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

/** A problem as it goes on the wire: status, headers, and the problem+json text. */
export interface ProblemResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * Logs a refused or failed request (with its trace ids, if any) and renders its problem+json.
 * Client errors are logged at debug; server errors at error, with the cause and stack, which the
 * caller never sees.
 */
export function renderProblem(
  logger: Logger,
  problem: ServiceError,
  requestId: string | undefined,
  trace?: TraceIds,
): ProblemResponse {
  if (problem.expose || problem.logged) {
    logger.debug(
      { requestId, ...trace, code: problem.code, status: problem.status },
      'request refused',
    )
  } else {
    // The detail and the stack go to the log only; the caller gets the fixed title.
    logger.error(
      { requestId, ...trace, code: problem.code, err: problem.cause ?? problem },
      'request failed',
    )
  }
  return {
    status: problem.status,
    headers: {
      ...(problem.code === 'unauthorized' ? { 'WWW-Authenticate': 'Bearer realm="usersig"' } : {}),
      ...problem.headers,
      'Cache-Control': 'no-store',
      'Content-Type': 'application/problem+json; charset=utf-8',
    },
    body: JSON.stringify({
      type: `urn:usersig-service:problem:${problem.code}`,
      title: ERRORS[problem.code].title,
      status: problem.status,
      ...(problem.expose && problem.detail !== undefined ? { detail: problem.detail } : {}),
      code: problem.code,
      ...(requestId === undefined ? {} : { requestId }),
      ...(problem.expose && problem.errors !== undefined ? { errors: problem.errors } : {}),
    }),
  }
}
