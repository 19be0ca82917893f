// TRTC PrivateMapKey: a ticket whose userbuf grants one user given privileges in one room.
import type { UserSigKey } from './key.js'
import { checkInteger, MAX_SDKAPPID, signTicket, type UserSigClaims } from './sign.js'

/** The eight privilege bits, by name, in bit order. 255 grants them all. */
export const PRIVILEGES = {
  createRoom: 1,
  enterRoom: 2,
  sendAudio: 4,
  receiveAudio: 8,
  sendVideo: 16,
  receiveVideo: 32,
  sendSubStream: 64, // screen sharing
  receiveSubStream: 128, // the official libraries' docs say "200": a typo for 128
} as const

export type PrivilegeName = keyof typeof PRIVILEGES

/** The longest string room id, in UTF-8 bytes (TRTC's limit). */
export const MAX_STR_ROOM_ID_BYTES = 64

/** A room: numeric (u32, 1 or more) or string. */
export type Room = { readonly roomId: number } | { readonly strRoomId: string }

/** What a PrivateMapKey's userbuf says. */
export interface PrivateMapKeyFields {
  readonly userId: string
  readonly sdkAppId: number
  /** The numeric room, or null for a string room. */
  readonly roomId: number | null
  readonly strRoomId: string | null
  /** ABSOLUTE unix time after which the room permission lapses (issue time + expire). */
  readonly expiresAt: number
  readonly privileges: number
  readonly privilegeNames: readonly PrivilegeName[]
  readonly accountType: number
}

export type PrivateMapKeyClaims = UserSigClaims &
  Room & { readonly privileges: number | readonly PrivilegeName[] }

/**
 * Signs a TRTC PrivateMapKey, as the official `genPrivateMapKey` and
 * `genPrivateMapKeyWithStringRoomID` do, except that lengths are counted in UTF-8 bytes (the
 * official Node, Java, Python and C# libraries count characters and corrupt non-ASCII ids).
 *
 * @throws TypeError naming the field when a value is out of range or not canonical.
 */
export function signPrivateMapKey(claims: PrivateMapKeyClaims, key: UserSigKey): string {
  const userBuf = encodePrivateMapKeyUserBuf({
    userId: claims.userId,
    sdkAppId: claims.sdkAppId,
    room: claims,
    expiresAt: claims.now + claims.expire,
    privileges: privilegeMap(claims.privileges),
  })
  return signTicket(claims, userBuf, key)
}

/** Turns privilege names, or a number 0-255, into the privilege bit map. */
export function privilegeMap(privileges: number | readonly PrivilegeName[]): number {
  if (typeof privileges === 'number') {
    checkInteger('privileges', privileges, 0, 255)
    return privileges
  }
  if (!Array.isArray(privileges))
    throw new TypeError('privileges must be a number or a list of names')
  let map = 0
  for (const name of privileges) {
    if (typeof name !== 'string' || !Object.hasOwn(PRIVILEGES, name)) {
      throw new TypeError(
        `privileges: unknown privilege; known: ${Object.keys(PRIVILEGES).join(', ')}`,
      )
    }
    map |= PRIVILEGES[name as PrivilegeName]
  }
  return map
}

/** The names of the bits set in a privilege map, in bit order. */
export function privilegeNames(map: number): PrivilegeName[] {
  return (Object.keys(PRIVILEGES) as PrivilegeName[]).filter(
    (name) => (map & PRIVILEGES[name]) !== 0,
  )
}

interface UserBufFields {
  readonly userId: string
  readonly sdkAppId: number
  readonly room: Room
  readonly expiresAt: number
  readonly privileges: number
}

/** Builds the big-endian userbuf layout (version 0: numeric room, 1: string room). */
export function encodePrivateMapKeyUserBuf(fields: UserBufFields): Buffer {
  const account = Buffer.from(fields.userId, 'utf8')
  checkInteger('userId length in bytes', account.length, 1, 0xffff)
  checkInteger('sdkAppId', fields.sdkAppId, 1, MAX_SDKAPPID)
  checkInteger('expiry (now + expire)', fields.expiresAt, 0, 0xffff_ffff)
  checkInteger('privileges', fields.privileges, 0, 255)
  const room = roomBytes(fields.room)

  const out = Buffer.alloc(1 + 2 + account.length + 20 + (room.str ? 2 + room.str.length : 0))
  let at = out.writeUInt8(room.str ? 1 : 0, 0)
  at = out.writeUInt16BE(account.length, at)
  at += account.copy(out, at)
  at = out.writeUInt32BE(fields.sdkAppId, at)
  at = out.writeUInt32BE(room.id, at)
  at = out.writeUInt32BE(fields.expiresAt, at)
  at = out.writeUInt32BE(fields.privileges, at)
  at = out.writeUInt32BE(0, at) // account type: always 0
  if (room.str) {
    at = out.writeUInt16BE(room.str.length, at)
    room.str.copy(out, at)
  }
  return out
}

function roomBytes(room: Room): { id: number; str: Buffer | null } {
  const given = room as { roomId?: unknown; strRoomId?: unknown }
  if (given.roomId !== undefined && given.strRoomId !== undefined) {
    throw new TypeError('give either roomId or strRoomId, not both')
  }
  if ('roomId' in room && room.roomId !== undefined) {
    checkInteger('roomId', room.roomId, 1, 0xffff_ffff)
    return { id: room.roomId, str: null }
  }
  const strRoomId: unknown = (room as { strRoomId?: unknown }).strRoomId
  if (
    typeof strRoomId !== 'string' ||
    strRoomId.length === 0 ||
    !strRoomId.isWellFormed() ||
    /\p{Cc}/u.test(strRoomId) ||
    Buffer.byteLength(strRoomId, 'utf8') > MAX_STR_ROOM_ID_BYTES
  ) {
    throw new TypeError(
      `strRoomId must be 1 to ${MAX_STR_ROOM_ID_BYTES} UTF-8 bytes without control characters (or give roomId)`,
    )
  }
  return { id: 0, str: Buffer.from(strRoomId, 'utf8') }
}

/** A PrivateMapKey userbuf's fields as bytes and numbers, before any text is decoded. */
export interface UserBufLayout {
  /** The account (UserID) bytes, as the issuer wrote them. */
  readonly account: Buffer
  readonly sdkAppId: number
  /** The numeric room, or null for a string room (version 1). */
  readonly roomId: number | null
  /** The string room bytes (version 1), or null for a numeric room. */
  readonly room: Buffer | null
  readonly expiresAt: number
  readonly privileges: number
  readonly accountType: number
}

/**
 * Reads the PrivateMapKey layout from a userbuf, or returns null when the lengths, the version
 * or the total size do not fit it exactly. The account and room stay bytes: whether they are
 * UTF-8 is the caller's question.
 */
export function readUserBufLayout(buf: Buffer): UserBufLayout | null {
  if (buf.length < 3) return null
  const version = buf.readUInt8(0)
  const accountLength = buf.readUInt16BE(1)
  const fixedEnd = 3 + accountLength + 20
  if ((version !== 0 && version !== 1) || buf.length < fixedEnd) return null
  let room: Buffer | null = null
  if (version === 1) {
    if (buf.length < fixedEnd + 2) return null
    const roomLength = buf.readUInt16BE(fixedEnd)
    if (buf.length !== fixedEnd + 2 + roomLength) return null
    room = buf.subarray(fixedEnd + 2)
  } else if (buf.length !== fixedEnd) {
    return null
  }
  const at = 3 + accountLength
  return {
    account: buf.subarray(3, at),
    sdkAppId: buf.readUInt32BE(at),
    roomId: version === 0 ? buf.readUInt32BE(at + 4) : null,
    room,
    expiresAt: buf.readUInt32BE(at + 8),
    privileges: buf.readUInt32BE(at + 12),
    accountType: buf.readUInt32BE(at + 16),
  }
}

/**
 * Reads a userbuf as a PrivateMapKey, or returns null when it is not exactly that layout with
 * UTF-8 ids (a ticket may carry another userbuf: the Go library signs arbitrary ones).
 */
export function decodePrivateMapKeyUserBuf(buf: Buffer): PrivateMapKeyFields | null {
  const layout = readUserBufLayout(buf)
  if (layout === null) return null
  const userId = utf8OrNull(layout.account)
  const strRoomId = layout.room === null ? null : utf8OrNull(layout.room)
  if (userId === null || (layout.room !== null && strRoomId === null)) return null
  return {
    userId,
    sdkAppId: layout.sdkAppId,
    roomId: layout.roomId,
    strRoomId,
    expiresAt: layout.expiresAt,
    privileges: layout.privileges,
    privilegeNames: privilegeNames(layout.privileges),
    accountType: layout.accountType,
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function utf8OrNull(bytes: Buffer): string | null {
  try {
    return utf8.decode(bytes)
  } catch {
    return null
  }
}
