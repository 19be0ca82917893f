// Every request-level failure: one table of stable codes -> HTTP status and public title.

/** Stable error codes. Adding one is adding a line here; openapi.yaml and docs/api.md follow (a test keeps them equal). */
export const ERRORS = {
  malformed_json: { status: 400, title: 'The request body is not valid JSON.' },
  invalid_request: { status: 400, title: 'The request does not match the API contract.' },
  user_id_invalid: {
    status: 400,
    title: "The userId is not allowed by this SDKAppID's user id policy.",
  },
  expire_out_of_range: {
    status: 400,
    title: "The expire is outside this SDKAppID's allowed range.",
  },
  unauthorized: { status: 401, title: 'A valid bearer token is required.' },
  forbidden: { status: 403, title: 'This caller may not do this for this SDKAppID.' },
  user_id_reserved: {
    status: 403,
    title: "The userId is one of this SDKAppID's reserved (admin) accounts.",
  },
  user_id_not_allowed: { status: 403, title: 'This caller may not mint tickets for this userId.' },
  privileges_not_allowed: {
    status: 403,
    title: 'This caller may not grant these PrivateMapKey privileges.',
  },
  not_found: { status: 404, title: 'No such resource.' },
  method_not_allowed: { status: 405, title: 'This method is not allowed on this resource.' },
  payload_too_large: { status: 413, title: 'The request body is too large.' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json.' },
  rate_limited: { status: 429, title: 'Too many requests from this caller; retry later.' },
  internal_error: { status: 500, title: 'Internal error.' },
  auth_unavailable: {
    status: 503,
    title: 'The identity provider could not be reached to check this token; retry later.',
  },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof ERRORS

/** One field-level problem, named by its JSON pointer-ish path (e.g. "/expire"). */
export interface FieldProblem {
  readonly field: string
  readonly message: string
}

/**
 * A failure with a stable code. For 4xx the `detail` is shown to the caller, so it must never
 * hold a secret, a token or a ticket; for 5xx the caller sees only the table's title.
 */
export class ServiceError extends Error {
  override readonly name = 'ServiceError'
  readonly code: ErrorCode
  readonly status: number
  readonly detail: string | undefined
  readonly errors: readonly FieldProblem[] | undefined
  /** Response headers the status calls for (e.g. `Allow` on a 405). */
  readonly headers: Readonly<Record<string, string>> | undefined
  /** Already reported where it happened (rate-limited there): the request itself logs at debug. */
  readonly logged: boolean

  constructor(
    code: ErrorCode,
    detail?: string,
    options: {
      errors?: readonly FieldProblem[]
      cause?: unknown
      headers?: Readonly<Record<string, string>> | undefined
      logged?: boolean
    } = {},
  ) {
    super(detail ?? ERRORS[code].title, { cause: options.cause })
    this.code = code
    this.status = ERRORS[code].status
    this.detail = detail
    this.errors = options.errors
    this.headers = options.headers
    this.logged = options.logged ?? false
  }

  /** Whether the caller may see `detail` (client errors) or only the fixed title (server errors). */
  get expose(): boolean {
    return this.status < 500
  }
}
