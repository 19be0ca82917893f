// Verification: decode, then check what Tencent checks, in Tencent's order, plus what it should.
import { timingSafeEqual } from 'node:crypto'
import { parseTicket, type DecodedTicket } from './decode.js'
import { TICKET_ERRORS, TicketError, type TicketErrorCode } from './errors.js'
import type { UserSigKey } from './key.js'
import { mangledUserBuf, type MangledUserBuf } from './mangled-userbuf.js'
import { computeSignature } from './sign-content.js'

/** Seconds a ticket's issue time may lie ahead of `now` (issuer clocks drift; NTP keeps them close). */
export const DEFAULT_MAX_CLOCK_SKEW = 300

export interface VerifyOptions {
  /** The SDKAppID the ticket must be for. */
  readonly sdkAppId: number
  /** The UserID the ticket must be for. */
  readonly userId: string
  /** The current unix time in seconds: the codec never reads a clock. */
  readonly now: number
  /** Seconds `TLS.time` may lie in the future; default DEFAULT_MAX_CLOCK_SKEW. */
  readonly maxClockSkew?: number
  /**
   * What the ticket must be: a plain UserSig (default; Tencent's Go verifier also refuses a
   * PrivateMapKey there), a PrivateMapKey, or either.
   */
  readonly kind?: 'usersig' | 'privatemapkey' | 'any'
}

export type VerifyResult =
  | {
      readonly valid: true
      readonly code: null
      readonly tencentErrorCode: null
      readonly message: string
      /** The id of the key whose signature matched: shows which key of a rotation signed it. */
      readonly keyId: string
      readonly ticket: DecodedTicket
    }
  | {
      readonly valid: false
      readonly code: TicketErrorCode
      readonly tencentErrorCode: number | null
      readonly message: string
      readonly keyId: null
      /** What the ticket says, when it could be decoded. */
      readonly ticket: DecodedTicket | null
    }

/**
 * Verifies a UserSig (or PrivateMapKey) against every key of its SDKAppID.
 *
 * Checks, in the order Tencent's verifiers use: decodes, identifier, SDKAppID, expiry (valid
 * while `now <= time + expire`, to the second), kind and userbuf, signature (constant time,
 * against each key in turn); then refuses an issue time more than `maxClockSkew` ahead of `now`.
 * A PrivateMapKey whose ids the official Java or Node library mangled is reported last, only
 * when nothing else is wrong: the diagnosis never hides a bad signature (docs/verdicts.md).
 * Never throws for a bad ticket: the verdict says why, with the Tencent error code.
 *
 * @throws TypeError when `keys` is empty or an option is not canonical (a programming error).
 */
export function verifyUserSig(
  ticket: string,
  keys: readonly UserSigKey[],
  options: VerifyOptions,
): VerifyResult {
  if (keys.length === 0) throw new TypeError('verifyUserSig needs at least one key')
  const { sdkAppId, userId, now, maxClockSkew = DEFAULT_MAX_CLOCK_SKEW, kind = 'usersig' } = options
  checkOptions(sdkAppId, userId, now, maxClockSkew, kind)

  let parsed
  try {
    parsed = parseTicket(ticket)
  } catch (error) {
    if (error instanceof TicketError) return invalid(error.code, null, error.message)
    throw error
  }
  const decoded = parsed.ticket

  if (decoded.userId !== userId) return invalid('ticket_identifier_mismatch', decoded)
  if (decoded.sdkAppId !== sdkAppId) return invalid('ticket_sdkappid_mismatch', decoded)
  if (now > decoded.expiresAt) return invalid('ticket_expired', decoded)
  const mangled = kind === 'usersig' ? null : mangledUserBuf(decoded)
  const kindProblem = checkKind(decoded, kind, now, mangled)
  if (kindProblem) return kindProblem

  const signed = {
    identifier: decoded.userId,
    sdkAppId: decoded.sdkAppId,
    time: decoded.issuedAt,
    expire: decoded.expire,
    // The userbuf line re-uses the string exactly as the ticket holds it.
    userBuf: decoded.userBuf ?? undefined,
  }
  let key: UserSigKey | undefined
  for (const candidate of keys) {
    if (timingSafeEqual(computeSignature(signed, candidate.secret), parsed.signature)) {
      key = candidate
      break
    }
  }
  if (key === undefined) return invalid('ticket_signature_invalid', decoded)

  if (decoded.issuedAt > now + maxClockSkew) {
    return invalid(
      'ticket_issued_in_future',
      decoded,
      `The ticket was issued ${decoded.issuedAt - now} s in the future (more than the allowed ${maxClockSkew} s); check the issuer clock.`,
    )
  }
  if (mangled !== null) return invalid('ticket_userbuf_mangled', decoded, mangledMessage(mangled))
  return {
    valid: true,
    code: null,
    tencentErrorCode: null,
    message: 'The ticket is valid.',
    keyId: key.id,
    ticket: decoded,
  }
}

const KINDS: ReadonlySet<unknown> = new Set(['usersig', 'privatemapkey', 'any'])

function checkOptions(
  sdkAppId: unknown,
  userId: unknown,
  now: number,
  maxClockSkew: number,
  kind: unknown,
): void {
  if (!Number.isSafeInteger(now) || now < 0)
    throw new TypeError('now must be a non-negative integer')
  // A NaN skew would silently switch the future check off; a string app id would never match.
  if (!Number.isSafeInteger(maxClockSkew) || maxClockSkew < 0) {
    throw new TypeError('maxClockSkew must be a non-negative integer')
  }
  if (!Number.isSafeInteger(sdkAppId)) throw new TypeError('sdkAppId must be an integer')
  if (typeof userId !== 'string') throw new TypeError('userId must be a string')
  if (!KINDS.has(kind)) throw new TypeError('kind must be usersig, privatemapkey or any')
}

function checkKind(
  decoded: DecodedTicket,
  kind: NonNullable<VerifyOptions['kind']>,
  now: number,
  mangled: MangledUserBuf | null,
): VerifyResult | null {
  if (kind === 'any') return null
  if (kind === 'usersig') {
    return decoded.userBuf === null
      ? null
      : invalid(
          'ticket_kind_mismatch',
          decoded,
          'The ticket carries a userbuf (a PrivateMapKey); a plain UserSig was expected.',
        )
  }
  // A mangled userbuf still has its numbers; its account is this user's id, mangled.
  const pmk = mangled?.layout ?? decoded.privateMapKey
  if (pmk === null) {
    return invalid(
      'ticket_kind_mismatch',
      decoded,
      'The ticket is not a PrivateMapKey (no room permission userbuf).',
    )
  }
  // The userbuf repeats who and which app; the room permission has its own absolute expiry.
  if (mangled === null && decoded.privateMapKey?.userId !== decoded.userId) {
    return invalid(
      'ticket_identifier_mismatch',
      decoded,
      'The PrivateMapKey userbuf names another UserID than the ticket.',
    )
  }
  if (pmk.sdkAppId !== decoded.sdkAppId) {
    return invalid(
      'ticket_sdkappid_mismatch',
      decoded,
      'The PrivateMapKey userbuf names another SDKAppID than the ticket.',
    )
  }
  if (now > pmk.expiresAt) {
    return invalid('ticket_expired', decoded, 'The PrivateMapKey room permission has expired.')
  }
  return null
}

function mangledMessage({ userId, strRoomId }: MangledUserBuf): string {
  const cause = 'as the official Java and Node libraries write it'
  if (!userId) {
    return `The PrivateMapKey userbuf's string room is not UTF-8 text free of control characters: a non-ASCII room written as the low byte of each UTF-16 unit, ${cause}.`
  }
  const what = strRoomId ? 'UserID and string room' : 'UserID'
  return `The PrivateMapKey userbuf holds the non-ASCII ${what} as the low byte of each UTF-16 unit, not as UTF-8, ${cause}.`
}

function invalid(
  code: TicketErrorCode,
  ticket: DecodedTicket | null,
  message: string = TICKET_ERRORS[code].message,
): VerifyResult {
  return {
    valid: false,
    code,
    tencentErrorCode: TICKET_ERRORS[code].tencentErrorCode,
    message,
    keyId: null,
    ticket,
  }
}
