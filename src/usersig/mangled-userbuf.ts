// A PrivateMapKey userbuf whose non-ASCII ids were written one byte per UTF-16 unit.
import { isUtf8 } from 'node:buffer'
import type { DecodedTicket } from './decode.js'
import { readUserBufLayout, type UserBufLayout } from './private-map-key.js'

/** Which ids of a PrivateMapKey userbuf are mangled, and the layout read from it. */
export interface MangledUserBuf {
  /** The account bytes are the low bytes of the ticket's non-ASCII identifier. */
  readonly userId: boolean
  /** The string room's bytes are not UTF-8 text free of control characters. */
  readonly strRoomId: boolean
  readonly layout: UserBufLayout
}

const CONTROL = /\p{Cc}/u

/** Looks again at the userbuf only when the decoded one is not plainly right (the common case). */
export function mangledUserBuf(decoded: DecodedTicket): MangledUserBuf | null {
  if (decoded.userBuf === null) return null
  const pmk = decoded.privateMapKey
  if (pmk !== null && pmk.userId === decoded.userId && !CONTROL.test(pmk.strRoomId ?? '')) {
    return null
  }
  return findMangledUserBuf(Buffer.from(decoded.userBuf, 'base64'), decoded.userId)
}

/**
 * Finds the userbuf the official Java and Node libraries write for a non-ASCII UserID or string
 * room: they count UTF-16 units and store the low byte of each, so the layout parses but the ids
 * are not the UTF-8 bytes of the ids asked for.
 *
 * - The UserID is known (the ticket's `TLS.identifier`), so that test is exact: the account
 *   bytes equal its low bytes, and it is not ASCII.
 * - The room asked for is not known. A room is taken as mangled when its bytes are not UTF-8 or
 *   hold a control character: TRTC's string rooms are printable ASCII, so a correct room is
 *   neither. A room whose low bytes all happen to be printable ASCII ("комната" -> ":><=0B0")
 *   cannot be told from a real one.
 *
 * Returns null when neither id is mangled, or when the account names someone else entirely
 * (another user's ticket, not this bug), or the userbuf is not the layout.
 */
function findMangledUserBuf(userBuf: Buffer, identifier: string): MangledUserBuf | null {
  const layout = readUserBufLayout(userBuf)
  if (layout === null) return null
  const userId = isLowBytesOf(layout.account, identifier)
  if (!userId && !layout.account.equals(Buffer.from(identifier, 'utf8'))) return null
  const strRoomId = layout.room !== null && !isCleanText(layout.room)
  return userId || strRoomId ? { userId, strRoomId, layout } : null
}

/** True when `bytes` are the low bytes of `text`'s UTF-16 units and `text` is not ASCII. */
function isLowBytesOf(bytes: Buffer, text: string): boolean {
  if (bytes.length !== text.length) return false
  let ascii = true
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (bytes[i] !== (unit & 0xff)) return false
    if (unit > 0x7f) ascii = false
  }
  // An ASCII id's low bytes are its UTF-8 bytes: nothing is mangled.
  return !ascii
}

function isCleanText(bytes: Buffer): boolean {
  return isUtf8(bytes) && !CONTROL.test(bytes.toString('utf8'))
}
