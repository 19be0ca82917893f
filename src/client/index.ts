// usersig-service/client: a typed client a backend can put on its users' login path. Checked
// options, a timeout over the whole exchange, opt-in retries that honour Retry-After, errors that
// keep the answer, a ticket cache, and the caller's trace context (docs/client.md).
import type { components } from '../contract/schema.js'

export type { components, paths } from '../contract/schema.js'
export {
  createUserSigClient,
  issuePrivateMapKey,
  issueUserSig,
  issueUserSigBatch,
  verifyUserSig,
  type CallOptions,
  type UserSigClient,
} from './client.js'
export { createUserSigCache, type UserSigCache, type UserSigCacheOptions } from './cache.js'
export {
  UserSigApiError,
  UserSigError,
  UserSigNetworkError,
  UserSigTimeoutError,
} from './errors.js'
export type { RetryEvent, RetryOptions, UserSigClientOptions } from './options.js'

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
