// Decoding: Tencent base64 -> capped inflate -> strict JSON -> checked fields. Needs no key.
import { decodeTencentBase64 } from './base64.js'
import { TicketError } from './errors.js'
import { decodePrivateMapKeyUserBuf, type PrivateMapKeyFields } from './private-map-key.js'
import { zlibInflate } from './zlib.js'

/**
 * The longest ticket decoded, in characters; longer input is refused before base64 decoding.
 * A real UserSig is ~190-270 characters, a PrivateMapKey with a long string room ~600; the
 * largest ticket this codec signs is under 3 200.
 */
export const MAX_TICKET_LENGTH = 4096

/** What a ticket says, in this service's names. Times are unix seconds. */
export interface DecodedTicket {
  /** `TLS.ver`: always "2.0" for a ticket that decodes. */
  readonly version: string
  /** `TLS.identifier`: the UserID the ticket was issued for. */
  readonly userId: string
  /** `TLS.sdkappid` */
  readonly sdkAppId: number
  /** `TLS.time`: when it was issued. */
  readonly issuedAt: number
  /** `TLS.expire`: seconds of validity after `issuedAt`. */
  readonly expire: number
  /** `issuedAt + expire`: the last second at which the ticket is valid. */
  readonly expiresAt: number
  /** `TLS.userbuf` (standard base64), present on PrivateMapKey tickets. */
  readonly userBuf: string | null
  /** The userbuf read as a TRTC PrivateMapKey, when it is one. */
  readonly privateMapKey: PrivateMapKeyFields | null
}

/** A decoded ticket plus what verify needs and nobody should be shown. */
export interface ParsedTicket {
  readonly ticket: DecodedTicket
  readonly signature: Buffer
}

/**
 * Decodes any official TLSSigAPIv2 ticket without checking its signature or expiry.
 *
 * Accepts every official variant: any zlib level (including Go's stored blocks), any JSON field
 * order and spacing, escaped `/` (PHP), a trailing newline (Go), fields Go omits when zero, and
 * missing base64 padding. Documents are compared decoded, never byte for byte.
 *
 * @throws TicketError `ticket_empty`, `ticket_malformed` or `ticket_version_unsupported`.
 */
export function decodeUserSig(ticket: string): DecodedTicket {
  return parseTicket(ticket).ticket
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const SIGNATURE = /^[A-Za-z0-9+/]{43}=$/

/** Decodes a ticket and keeps its signature bytes, for verify. */
export function parseTicket(ticket: string): ParsedTicket {
  if (typeof ticket !== 'string' || ticket.length === 0) throw new TicketError('ticket_empty')
  if (ticket.length > MAX_TICKET_LENGTH) {
    throw new TicketError(
      'ticket_malformed',
      `The ticket is longer than ${MAX_TICKET_LENGTH} characters.`,
    )
  }
  const compressed = decodeTencentBase64(ticket)
  if (compressed === null) {
    throw new TicketError(
      'ticket_malformed',
      "The ticket has characters outside Tencent's base64 alphabet (A-Z a-z 0-9 * - and _ padding).",
    )
  }
  const json = zlibInflate(compressed)
  if (json === null) {
    throw new TicketError(
      'ticket_malformed',
      'The ticket is not a complete zlib stream within the size limit.',
    )
  }
  let doc: unknown
  try {
    doc = JSON.parse(utf8.decode(json))
  } catch {
    throw new TicketError('ticket_malformed', 'The ticket does not hold a UTF-8 JSON document.')
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TicketError('ticket_malformed', 'The ticket does not hold a JSON object.')
  }
  return readDocument(doc as Record<string, unknown>)
}

// Fields are read by name: JSON.parse makes every key an own property (a "__proto__" key
// included, which never reaches a prototype), no "TLS." name exists on Object.prototype, and JSON
// has no `undefined`, so `undefined` means absent. Named reads are ~2x faster than hasOwn lookups.
function readDocument(doc: Record<string, unknown>): ParsedTicket {
  const version = doc['TLS.ver']
  if (version !== '2.0') {
    // v1 tickets (ECDSA) carry string fields such as TLS.sdk_appid and no TLS.ver.
    const v1 = doc['TLS.sdk_appid'] !== undefined || doc['TLS.version'] !== undefined
    throw new TicketError(
      'ticket_version_unsupported',
      v1
        ? 'This is a v1 (ECDSA) ticket; TLSSigAPIv2 tickets are signed with the HMAC secret key.'
        : 'The ticket is not a TLSSigAPIv2 ("TLS.ver": "2.0") ticket.',
    )
  }
  // Go's encoder omits zero values (omitempty): an absent identifier is "", an absent expire 0.
  // A JSON null is not absent: the official Node library writes "TLS.expire":null when called
  // without an expire, and signs the text "undefined", so such a ticket can never verify.
  const userId = doc['TLS.identifier'] ?? ''
  if (typeof userId !== 'string') throw malformedField('TLS.identifier', 'a string')
  const sdkAppId = integerField(doc['TLS.sdkappid'], 'TLS.sdkappid')
  const time = integerField(doc['TLS.time'], 'TLS.time')
  const expire = doc['TLS.expire']
  const validity = expire === undefined ? 0 : integerField(expire, 'TLS.expire')
  if (!Number.isSafeInteger(time + validity))
    throw malformedField('TLS.expire', 'a smaller integer')
  const sig = doc['TLS.sig']
  if (typeof sig !== 'string' || !SIGNATURE.test(sig)) {
    throw malformedField('TLS.sig', 'the base64 of a 32-byte HMAC-SHA256')
  }
  const userBuf = doc['TLS.userbuf']
  if (userBuf !== undefined && (typeof userBuf !== 'string' || !STANDARD_BASE64.test(userBuf))) {
    throw malformedField('TLS.userbuf', 'a standard base64 string')
  }

  return {
    ticket: {
      version,
      userId,
      sdkAppId,
      issuedAt: time,
      expire: validity,
      expiresAt: time + validity,
      userBuf: userBuf ?? null,
      privateMapKey:
        userBuf === undefined ? null : decodePrivateMapKeyUserBuf(Buffer.from(userBuf, 'base64')),
    },
    signature: Buffer.from(sig, 'base64'),
  }
}

function integerField(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw malformedField(name, 'a non-negative integer')
  }
  return value
}

function malformedField(name: string, expected: string): TicketError {
  return new TicketError('ticket_malformed', `The ticket's ${name} is not ${expected}.`)
}
