// Signing: canonical integers -> HMAC-SHA256 -> compact JSON -> zlib -> Tencent base64.
import { encodeTencentBase64 } from './base64.js'
import type { UserSigKey } from './key.js'
import { signatureText, signedTail } from './sign-content.js'
import { zlibStore } from './zlib.js'

/** SDKAppIDs are unsigned 32-bit numbers (the PrivateMapKey layout stores one in a u32). */
export const MAX_SDKAPPID = 0xffff_ffff
/**
 * The longest user id the codec signs, in UTF-8 bytes. Tencent allows 32; user-id policies
 * enforce that. This hard cap keeps every ticket we sign far inside the decoder's limits.
 */
export const MAX_IDENTIFIER_BYTES = 255

/** What a UserSig says: who, for which app, issued when (unix seconds), valid for how long (seconds). */
export interface UserSigClaims {
  readonly sdkAppId: number
  readonly userId: string
  readonly expire: number
  /** Issue time, unix seconds: the codec never reads a clock. */
  readonly now: number
}

/**
 * Signs a UserSig ticket, as Tencent's TLSSigAPIv2 `genUserSig` does.
 *
 * @throws TypeError naming the field when a value is not canonical: numbers must be safe
 *   integers in range; they are rejected, never rounded or coerced.
 */
export function signUserSig(claims: UserSigClaims, key: UserSigKey): string {
  return signTicket(claims, undefined, key)
}

/** What the tickets of one batch share: everything but the user. */
export type SharedClaims = Omit<UserSigClaims, 'userId'>

/**
 * Prepares to sign UserSigs for many users of one app, with one issue time and one expiry (a
 * batch). The numbers are checked and the text the tickets share is built once; each call then
 * signs for one user id, exactly as `signUserSig` would.
 *
 * @throws TypeError as `signUserSig` does: for the shared claims here, for a user id per call.
 */
export function userSigSigner(shared: SharedClaims, key: UserSigKey): (userId: string) => string {
  return ticketSigner(shared, undefined, key)
}

/** Signs a ticket with an optional userbuf; shared by UserSig and PrivateMapKey. */
export function signTicket(
  claims: UserSigClaims,
  userBuf: Uint8Array | undefined,
  key: UserSigKey,
): string {
  return ticketSigner(claims, userBuf, key)(claims.userId)
}

function ticketSigner(
  shared: SharedClaims,
  userBuf: Uint8Array | undefined,
  key: UserSigKey,
): (userId: string) => string {
  checkSharedClaims(shared)
  const { sdkAppId, expire, now } = shared
  const userBufText = userBuf === undefined ? undefined : Buffer.from(userBuf).toString('base64')
  const signed = signedTail({ sdkAppId, time: now, expire, userBuf: userBufText })
  // Field order and formatting as the official Node library's JSON.stringify produces them.
  const fields =
    `,"TLS.sdkappid":${sdkAppId},"TLS.time":${now},"TLS.expire":${expire},` +
    (userBufText === undefined ? '' : `"TLS.userbuf":"${userBufText}",`) +
    `"TLS.sig":"`
  const { secret } = key
  return (userId) => {
    checkIdentifier(userId)
    const sig = signatureText(userId, signed, secret)
    const json = `{"TLS.ver":"2.0","TLS.identifier":${JSON.stringify(userId)}${fields}${sig}"}`
    return encodeTencentBase64(zlibStore(json))
  }
}

function checkSharedClaims(claims: SharedClaims): void {
  checkInteger('sdkAppId', claims.sdkAppId, 1, MAX_SDKAPPID)
  checkInteger('now', claims.now, 0, Number.MAX_SAFE_INTEGER)
  checkInteger('expire', claims.expire, 0, Number.MAX_SAFE_INTEGER - claims.now)
}

/** Throws unless `value` is an integer in [min, max]; never coerces (`86400.0` from JSON is 86400, `"86400"` is refused). */
export function checkInteger(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${field} must be an integer from ${min} to ${max}`)
  }
}

function checkIdentifier(userId: unknown): void {
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new TypeError('userId must be a non-empty string')
  }
  // A lone surrogate would be signed as U+FFFD and never verify.
  if (!userId.isWellFormed() || Buffer.byteLength(userId, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new TypeError(
      `userId must be well-formed Unicode of at most ${MAX_IDENTIFIER_BYTES} UTF-8 bytes`,
    )
  }
}
