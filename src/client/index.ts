// Typed HTTP client for the service: openapi-fetch over the types generated from openapi.yaml.
import createClient, { type Client } from 'openapi-fetch'
import type { components, paths } from '../contract/schema.js'

export type { components, paths } from '../contract/schema.js'

type Schemas = components['schemas']
export type IssueUserSigRequest = Schemas['IssueUserSigRequest']
export type UserSigResponse = Schemas['UserSigResponse']
export type IssueUserSigBatchRequest = Schemas['IssueUserSigBatchRequest']
export type UserSigBatchResponse = Schemas['UserSigBatchResponse']
export type VerifyRequest = Schemas['VerifyRequest']
export type VerifyResponse = Schemas['VerifyResponse']
export type IssuePrivateMapKeyRequest = Schemas['IssuePrivateMapKeyRequest']
export type PrivateMapKeyResponse = Schemas['PrivateMapKeyResponse']
export type Problem = Schemas['Problem']
export type ErrorCode = Schemas['ErrorCode']

/** An openapi-fetch client typed by the service's contract. */
export type UserSigClient = Client<paths>

export interface UserSigClientOptions {
  /** The service's origin, e.g. `https://usersig.internal:8080`. */
  readonly baseUrl: string
  /** The caller's bearer token (a static token or a JWT). */
  readonly token: string
  /** A fetch implementation; defaults to the global `fetch`. */
  readonly fetch?: (input: Request) => Promise<Response>
}

/**
 * Creates a client that sends `Authorization: Bearer <token>` on every request.
 * Options are checked here, once; the error names the option and never echoes the token.
 */
export function createUserSigClient(options: UserSigClientOptions): UserSigClient {
  const { baseUrl, token, fetch } = options
  if (typeof baseUrl !== 'string' || !URL.canParse(baseUrl))
    throw new TypeError('createUserSigClient: `baseUrl` must be an absolute URL')
  if (typeof token !== 'string' || token === '' || /[\s]/.test(token))
    throw new TypeError(
      'createUserSigClient: `token` must be a non-empty string without whitespace',
    )
  return createClient<paths>({
    baseUrl,
    headers: { authorization: `Bearer ${token}` },
    ...(fetch === undefined ? {} : { fetch }),
  })
}

/**
 * A non-2xx answer. `code`, `status` and `detail` come from the `application/problem+json` body
 * (RFC 9457); `code` is undefined when the body was not a problem document (e.g. a proxy's page).
 */
export class UserSigApiError extends Error {
  override readonly name = 'UserSigApiError'
  readonly status: number
  readonly code: ErrorCode | undefined
  readonly detail: string | undefined
  readonly problem: Problem | undefined

  constructor(response: Response, body: unknown) {
    const problem = isProblem(body) ? body : undefined
    // Built from the response only: the request (and its Authorization header) never reaches the message.
    super(
      `${response.status} ${problem?.code ?? 'unexpected_response'}: ${problem?.detail ?? problem?.title ?? response.statusText}`,
    )
    this.status = response.status
    this.code = problem?.code
    this.detail = problem?.detail
    this.problem = problem
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

/** The typed body of a 2xx answer, or a thrown UserSigApiError. */
function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (!result.response.ok || result.data === undefined)
    throw new UserSigApiError(result.response, result.error)
  return result.data
}

/** `POST /usersig`: issues a UserSig (scope `usersig:issue`). */
export async function issueUserSig(
  client: UserSigClient,
  body: IssueUserSigRequest,
): Promise<UserSigResponse> {
  return unwrap(await client.POST('/usersig', { body }))
}

/** `POST /usersig/batch`: issues UserSigs for up to 1000 users of one app (scope `usersig:issue`). */
export async function issueUserSigBatch(
  client: UserSigClient,
  body: IssueUserSigBatchRequest,
): Promise<UserSigBatchResponse> {
  return unwrap(await client.POST('/usersig/batch', { body }))
}

/** `POST /usersig/verify`: verifies and decodes a ticket (scope `usersig:verify`, debug endpoints on). */
export async function verifyUserSig(
  client: UserSigClient,
  body: VerifyRequest,
): Promise<VerifyResponse> {
  return unwrap(await client.POST('/usersig/verify', { body }))
}

/** `POST /privatemapkey`: issues a TRTC PrivateMapKey (scope `privatemapkey:issue`). */
export async function issuePrivateMapKey(
  client: UserSigClient,
  body: IssuePrivateMapKeyRequest,
): Promise<PrivateMapKeyResponse> {
  return unwrap(await client.POST('/privatemapkey', { body }))
}
