// The typed client: openapi-fetch over the types generated from openapi.yaml, sending through
// the client's transport (timeout, retries, trace context), and one function per operation that
// returns the typed body of a 2xx answer or throws a UserSigError.
import createClient, { type Client } from 'openapi-fetch'
import type { components, paths } from '../contract/schema.js'
import { UserSigApiError } from './errors.js'
import { checkClientOptions, type UserSigClientOptions } from './options.js'
import { createTransport } from './transport.js'

type Schemas = components['schemas']

/** An openapi-fetch client typed by the service's contract. */
export type UserSigClient = Client<paths>

/** Per call: `signal` aborts the call, its retries and waits included. */
export interface CallOptions {
  readonly signal?: AbortSignal
}

/**
 * Creates a client that sends `Authorization: Bearer <token>` on every request. Options are
 * checked here, once: a bad one throws a TypeError naming it, never quoting the token.
 */
export function createUserSigClient(options: UserSigClientOptions): UserSigClient {
  const settings = checkClientOptions(options)
  return createClient<paths>({
    baseUrl: settings.baseUrl,
    headers: { authorization: `Bearer ${settings.token}` },
    fetch: createTransport(settings),
  })
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
  body: Schemas['IssueUserSigRequest'],
  options: CallOptions = {},
): Promise<Schemas['UserSigResponse']> {
  return unwrap(await client.POST('/usersig', { body, ...options }))
}

/** `POST /usersig/batch`: issues UserSigs for up to 1000 users of one app (scope `usersig:issue`). */
export async function issueUserSigBatch(
  client: UserSigClient,
  body: Schemas['IssueUserSigBatchRequest'],
  options: CallOptions = {},
): Promise<Schemas['UserSigBatchResponse']> {
  return unwrap(await client.POST('/usersig/batch', { body, ...options }))
}

/** `POST /usersig/verify`: verifies and decodes a ticket (scope `usersig:verify`, debug endpoints on). */
export async function verifyUserSig(
  client: UserSigClient,
  body: Schemas['VerifyRequest'],
  options: CallOptions = {},
): Promise<Schemas['VerifyResponse']> {
  return unwrap(await client.POST('/usersig/verify', { body, ...options }))
}

/** `POST /privatemapkey`: issues a TRTC PrivateMapKey (scope `privatemapkey:issue`). */
export async function issuePrivateMapKey(
  client: UserSigClient,
  body: Schemas['IssuePrivateMapKeyRequest'],
  options: CallOptions = {},
): Promise<Schemas['PrivateMapKeyResponse']> {
  return unwrap(await client.POST('/privatemapkey', { body, ...options }))
}
