// Decodes a ticket in the browser the way src/usersig/decode.ts does on the server: the same
// limits, the same checks in the same order, the same result shape (a test compares the two), and
// failures told in words a developer can act on, never base64's or pako's internals.
import { Inflate } from '/debug/pako.mjs'
import { ALPHABET_TEXT, strayCharacter } from '/debug/ticket-text.js'

/** As src/usersig/decode.ts: longer input is refused before any decoding. */
export const MAX_TICKET_LENGTH = 4096
/** As src/usersig/zlib.ts: inflating stops here, so a crafted ticket cannot fill the tab. */
export const MAX_INFLATED_BYTES = 4096

const PRIVILEGES = [
  'createRoom',
  'enterRoom',
  'sendAudio',
  'receiveAudio',
  'sendVideo',
  'receiveVideo',
  'sendSubStream',
  'receiveSubStream',
]
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const SIGNATURE = /^[A-Za-z0-9+/]{43}=$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Why a pasted text is not a usable ticket. `code` and `tencentErrorCode` are the server's
 * (src/usersig/errors.ts); `headline` and `message` are this page's words.
 */
export class TicketDecodeError extends Error {
  constructor(code, headline, message) {
    super(message)
    this.name = 'TicketDecodeError'
    this.code = code
    this.headline = headline
    this.tencentErrorCode = code === 'ticket_empty' ? 70002 : 70003
  }
}

const notATicket = (message) =>
  new TicketDecodeError('ticket_malformed', 'This is not a ticket.', message)
const badField = (name, expected) =>
  new TicketDecodeError(
    'ticket_malformed',
    'This ticket is damaged.',
    `The ticket's ${name} is not ${expected}.`,
  )

/**
 * What a ticket says, without checking its signature or expiry: the fields of the server's
 * DecodedTicket. Times are unix seconds.
 *
 * @throws TicketDecodeError when the text is not a TLSSigAPIv2 ticket.
 */
export function decodeTicket(ticket) {
  if (ticket === '') {
    throw new TicketDecodeError('ticket_empty', 'There is no ticket.', 'The ticket is empty.')
  }
  if (ticket.length > MAX_TICKET_LENGTH) {
    throw notATicket(
      `It is longer than ${MAX_TICKET_LENGTH} characters; a real ticket has a few hundred.`,
    )
  }
  const json = inflateCapped(tencentBase64(ticket))
  let doc
  try {
    doc = JSON.parse(utf8.decode(json))
  } catch {
    throw notATicket('It does not hold a UTF-8 JSON document.')
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw notATicket('It does not hold a JSON object.')
  }
  return readDocument(doc)
}

/** Tencent's base64 variant (`*` `-` `_` for `+` `/` `=`, padding optional) to bytes. */
function tencentBase64(text) {
  const stray = strayCharacter(text)
  if (stray !== null) throw notATicket(`It has a character outside ${ALPHABET_TEXT}: ${stray}`)
  const end = text.replace(/_{1,2}$/, '').length
  if (end === 0 || end % 4 === 1) {
    throw notATicket('Its length cannot come from base64: a character was lost or added.')
  }
  const standard = text.slice(0, end).replace(/\*/g, '+').replace(/-/g, '/')
  return Uint8Array.from(atob(standard.padEnd(Math.ceil(end / 4) * 4, '=')), (c) => c.charCodeAt(0))
}

/** zlib (RFC 1950, as the server: no gzip, no raw deflate), stopping at MAX_INFLATED_BYTES. */
function inflateCapped(compressed) {
  const tooLarge = notATicket(
    `It inflates to more than ${MAX_INFLATED_BYTES} bytes; a real ticket holds a few hundred.`,
  )
  // windowBits 15 turns off pako's gzip autodetection; small chunks let the cap stop it early.
  const inflator = new Inflate({ windowBits: 15, chunkSize: 1024 })
  const chunks = []
  let size = 0
  inflator.onData = (chunk) => {
    size += chunk.length
    if (size > MAX_INFLATED_BYTES) throw tooLarge
    chunks.push(chunk)
  }
  inflator.onEnd = () => {}
  try {
    inflator.push(compressed, true)
  } catch (error) {
    if (error === tooLarge) throw error
    // pako throws only for its own bad parameters; a bad stream is reported through `err`.
    throw new Error('pako failed to inflate', { cause: error })
  }
  // Every pako status ("buffer error" for a cut stream, "incorrect header check", ...) means the
  // same thing to the person who pasted it.
  if (inflator.err !== 0) {
    throw notATicket(
      'It is not a complete zlib stream: it was probably cut short, or changed on its way.',
    )
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

// Field by field, in the server's order and with its messages (src/usersig/decode.ts).
function readDocument(doc) {
  const version = doc['TLS.ver']
  if (version !== '2.0') {
    const v1 = doc['TLS.sdk_appid'] !== undefined || doc['TLS.version'] !== undefined
    throw new TicketDecodeError(
      'ticket_version_unsupported',
      'This is not a TLSSigAPIv2 ticket.',
      v1
        ? 'This is a v1 (ECDSA) ticket; TLSSigAPIv2 tickets are signed with the HMAC secret key.'
        : 'The ticket is not a TLSSigAPIv2 ("TLS.ver": "2.0") ticket.',
    )
  }
  // Go's encoder omits zero values: an absent identifier is "", an absent expire 0.
  const userId = doc['TLS.identifier'] ?? ''
  if (typeof userId !== 'string') throw badField('TLS.identifier', 'a string')
  const sdkAppId = integerField(doc['TLS.sdkappid'], 'TLS.sdkappid')
  const issuedAt = integerField(doc['TLS.time'], 'TLS.time')
  const expire = doc['TLS.expire'] === undefined ? 0 : integerField(doc['TLS.expire'], 'TLS.expire')
  if (!Number.isSafeInteger(issuedAt + expire)) throw badField('TLS.expire', 'a smaller integer')
  const sig = doc['TLS.sig']
  if (typeof sig !== 'string' || !SIGNATURE.test(sig)) {
    throw badField('TLS.sig', 'the base64 of a 32-byte HMAC-SHA256')
  }
  const userBuf = doc['TLS.userbuf']
  if (userBuf !== undefined && (typeof userBuf !== 'string' || !STANDARD_BASE64.test(userBuf))) {
    throw badField('TLS.userbuf', 'a standard base64 string')
  }
  return {
    version,
    userId,
    sdkAppId,
    issuedAt,
    expire,
    expiresAt: issuedAt + expire,
    userBuf: userBuf ?? null,
    privateMapKey: userBuf === undefined ? null : privateMapKey(userBuf),
  }
}

function integerField(value, name) {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badField(name, 'a non-negative integer')
  }
  return value
}

/** The userbuf read as a PrivateMapKey, or null when it is not exactly that layout. */
function privateMapKey(userBuf) {
  const buf = Uint8Array.from(atob(userBuf), (c) => c.charCodeAt(0))
  if (buf.length < 3) return null
  const view = new DataView(buf.buffer)
  const version = view.getUint8(0)
  const accountLength = view.getUint16(1)
  const fixedEnd = 3 + accountLength + 20
  if ((version !== 0 && version !== 1) || buf.length < fixedEnd) return null
  let strRoomId = null
  if (version === 1) {
    if (buf.length < fixedEnd + 2) return null
    const roomLength = view.getUint16(fixedEnd)
    if (buf.length !== fixedEnd + 2 + roomLength) return null
    strRoomId = utf8OrNull(buf.subarray(fixedEnd + 2))
    if (strRoomId === null) return null
  } else if (buf.length !== fixedEnd) {
    return null
  }
  const userId = utf8OrNull(buf.subarray(3, 3 + accountLength))
  if (userId === null) return null
  const at = 3 + accountLength
  const privileges = view.getUint32(at + 12)
  return {
    userId,
    sdkAppId: view.getUint32(at),
    roomId: version === 0 ? view.getUint32(at + 4) : null,
    strRoomId,
    expiresAt: view.getUint32(at + 8),
    privileges,
    privilegeNames: PRIVILEGES.filter((_, bit) => privileges & (1 << bit)),
    accountType: view.getUint32(at + 16),
  }
}

function utf8OrNull(bytes) {
  try {
    return utf8.decode(bytes)
  } catch {
    return null
  }
}
