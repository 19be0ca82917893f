// The ticket codec's public surface: pure functions; keys and time are arguments.
export { decodeUserSig, MAX_TICKET_LENGTH, type DecodedTicket } from './decode.js'
export { TICKET_ERRORS, TicketError, type TicketErrorCode } from './errors.js'
export { HINTS } from './hints.js'
export { checkSecret, createUserSigKey, MIN_SECRET_LENGTH, type UserSigKey } from './key.js'
export {
  decodePrivateMapKeyUserBuf,
  encodePrivateMapKeyUserBuf,
  MAX_STR_ROOM_ID_BYTES,
  PRIVILEGES,
  privilegeMap,
  privilegeNames,
  signPrivateMapKey,
  type PrivateMapKeyClaims,
  type PrivateMapKeyFields,
  type PrivilegeName,
  type Room,
} from './private-map-key.js'
export {
  MAX_IDENTIFIER_BYTES,
  MAX_SDKAPPID,
  signUserSig,
  userSigSigner,
  type SharedClaims,
  type UserSigClaims,
} from './sign.js'
export { signContent } from './sign-content.js'
export { checkUserId, MAX_USER_ID_BYTES, USER_ID_POLICIES, type UserIdPolicy } from './user-id.js'
export {
  DEFAULT_MAX_CLOCK_SKEW,
  verifyUserSig,
  type VerifyOptions,
  type VerifyResult,
} from './verify.js'
export { MAX_INFLATED_BYTES } from './zlib.js'
