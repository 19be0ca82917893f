// PrivateMapKeys the official Node library makes for non-ASCII ids (it keeps the low byte of each
// UTF-16 unit, as the Java library does): verify names that cause, and only when nothing else is
// wrong. The official npm package is the oracle; tickets are made live with its clock pinned.
import {
  createUserSigKey,
  decodeUserSig,
  HINTS,
  signPrivateMapKey,
  TICKET_ERRORS,
  verifyUserSig,
  type VerifyOptions,
} from '../../../src/usersig/index.js'
import { official } from '../../helpers/official.js'
import { variantTicket } from '../../helpers/variants.js'
import { VECTORS } from '../../helpers/vectors.js'

const APP = VECTORS.sdkAppId
const T = VECTORS.time
const key = createUserSigKey('k', VECTORS.key)
const otherKey = createUserSigKey('other', 'another-secret-key-of-the-app-0123456789')

/** The official Node library's PrivateMapKey, issued at T for 300 s. */
function nodePmk(userId: string, room: number | string, time = T): string {
  return official(APP, VECTORS.key, time, (api) =>
    typeof room === 'number'
      ? api.genPrivateMapKey(userId, 300, room, 255)
      : api.genPrivateMapKeyWithStringRoomID(userId, 300, room, 255),
  )
}

const asPmk = (userId: string, more: Partial<VerifyOptions> = {}): VerifyOptions => ({
  sdkAppId: APP,
  userId,
  now: T,
  kind: 'privatemapkey',
  ...more,
})

const USER_MESSAGE =
  'The PrivateMapKey userbuf holds the non-ASCII UserID as the low byte of each UTF-16 unit, not as UTF-8, as the official Java and Node libraries write it.'
const ROOM_MESSAGE =
  "The PrivateMapKey userbuf's string room is not UTF-8 text free of control characters: a non-ASCII room written as the low byte of each UTF-16 unit, as the official Java and Node libraries write it."

describe('ticket_userbuf_mangled', () => {
  test.each([
    // what the decoder made of the userbuf's account, which the old verdicts followed
    ['张三', { userId: ' \t' }, 'identifier_mismatch before: the low bytes are valid UTF-8'],
    ['用户✓', { userId: '(7\x13' }, 'identifier_mismatch before'],
    ['José', null, 'kind_mismatch before: 0xE9 alone is not UTF-8'],
    ['😀a', { userId: '=\x00a' }, 'a surrogate pair is two units, two low bytes'],
  ])('a non-ASCII UserID %j from the official Node library (%j; %s)', (userId, seen, _why) => {
    const ticket = nodePmk(userId, 10000)
    const decoded = decodeUserSig(ticket)
    expect(decoded.userId).toBe(userId)
    if (seen === null) expect(decoded.privateMapKey).toBeNull()
    else expect(decoded.privateMapKey).toMatchObject(seen)

    const verdict = verifyUserSig(ticket, [key], asPmk(userId))
    expect(verdict).toEqual({
      valid: false,
      code: 'ticket_userbuf_mangled',
      tencentErrorCode: null,
      message: USER_MESSAGE,
      keyId: null,
      ticket: decoded,
    })
    // kind "any" accepts a UserSig or a PrivateMapKey, but not a broken PrivateMapKey
    expect(verifyUserSig(ticket, [key], asPmk(userId, { kind: 'any' })).code).toBe(
      'ticket_userbuf_mangled',
    )
    // where a UserSig is expected, the first thing wrong is still that it is a PrivateMapKey
    expect(verifyUserSig(ticket, [key], asPmk(userId, { kind: 'usersig' })).code).toBe(
      'ticket_kind_mismatch',
    )
  })

  test('a non-ASCII string room whose low bytes are not UTF-8 ("会议室" -> 1a ae a4)', () => {
    const ticket = nodePmk('xiaojun', '会议室')
    expect(decodeUserSig(ticket).privateMapKey).toBeNull() // was "not a PrivateMapKey"
    expect(verifyUserSig(ticket, [key], asPmk('xiaojun'))).toMatchObject({
      code: 'ticket_userbuf_mangled',
      message: ROOM_MESSAGE,
    })
  })

  test('a string room whose low bytes hold a control character ("用户✓" -> "(7\\x13")', () => {
    const ticket = nodePmk('xiaojun', '用户✓')
    expect(decodeUserSig(ticket).privateMapKey).toMatchObject({ strRoomId: '(7\x13' })
    expect(verifyUserSig(ticket, [key], asPmk('xiaojun'))).toMatchObject({
      code: 'ticket_userbuf_mangled',
      message: ROOM_MESSAGE,
    })
  })

  test('both ids mangled: the message names both', () => {
    const ticket = nodePmk('张三', '会议室')
    expect(verifyUserSig(ticket, [key], asPmk('张三')).message).toBe(
      'The PrivateMapKey userbuf holds the non-ASCII UserID and string room as the low byte of each UTF-16 unit, not as UTF-8, as the official Java and Node libraries write it.',
    )
  })

  test('the limit: a room whose low bytes are all printable ASCII cannot be told from a real one', () => {
    // "комната" -> ":><=0B0": a legal TRTC room; only the room meant would tell them apart.
    const ticket = nodePmk('xiaojun', 'комната')
    expect(verifyUserSig(ticket, [key], asPmk('xiaojun'))).toMatchObject({
      valid: true,
      ticket: { privateMapKey: { strRoomId: ':><=0B0' } },
    })
  })

  test('UTF-8 userbufs with the same ids verify: ours, and ASCII ones from the official library', () => {
    const ours = signPrivateMapKey(
      { sdkAppId: APP, userId: '张三', expire: 300, now: T, strRoomId: '会议室', privileges: 255 },
      key,
    )
    expect(verifyUserSig(ours, [key], asPmk('张三'))).toMatchObject({ valid: true })
    expect(verifyUserSig(nodePmk('xiaojun', 'room-1'), [key], asPmk('xiaojun'))).toMatchObject({
      valid: true,
    })
  })

  test('has a Tencent code of null and a hint naming the cause and the fix', () => {
    expect(TICKET_ERRORS.ticket_userbuf_mangled.tencentErrorCode).toBeNull()
    expect(HINTS.ticket_userbuf_mangled).toContain('Java and Node')
    expect(HINTS.ticket_userbuf_mangled).toContain('POST /privatemapkey')
    expect(HINTS.ticket_userbuf_mangled).toContain('usersig private-map-key')
  })
})

describe('ticket_userbuf_mangled never hides another failure', () => {
  const ticket = nodePmk('张三', 10000)

  test('a wrong key: the signature failure is reported, not the mangling', () => {
    expect(verifyUserSig(ticket, [otherKey], asPmk('张三'))).toMatchObject({
      code: 'ticket_signature_invalid',
      tencentErrorCode: 70009,
    })
  })

  test('a forged ticket with a mangled userbuf and no valid signature: signature invalid', () => {
    const userBuf = decodeUserSig(ticket).userBuf as string
    const forged = variantTicket('node', {
      key: 'not-the-key',
      sdkAppId: APP,
      userId: '张三',
      time: T,
      expire: 300,
      userBuf,
    })
    expect(verifyUserSig(forged, [key], asPmk('张三')).code).toBe('ticket_signature_invalid')
  })

  test('the checks before it come first: identifier, SDKAppID, expiry', () => {
    expect(verifyUserSig(ticket, [key], asPmk('李四')).code).toBe('ticket_identifier_mismatch')
    expect(verifyUserSig(ticket, [key], asPmk('张三', { sdkAppId: APP + 1 })).code).toBe(
      'ticket_sdkappid_mismatch',
    )
    expect(verifyUserSig(ticket, [key], asPmk('张三', { now: T + 301 })).code).toBe(
      'ticket_expired',
    )
  })

  test('a room permission that lapsed first is reported as expired', () => {
    // a userbuf, mangled as the official library writes it, whose own expiry is T + 100
    const account = Buffer.from([0x20, 0x09]) // "张三", one low byte per unit
    const userBuf = Buffer.concat([
      Buffer.from([0, 0, account.length]),
      account,
      Buffer.from('53724e00' + '00002710', 'hex'), // sdkappid, room 10000
      Buffer.alloc(4, 0),
      Buffer.from('000000ff00000000', 'hex'), // privileges 255, account type 0
    ])
    userBuf.writeUInt32BE(T + 100, 3 + account.length + 8)
    const pmk = variantTicket('node', {
      key: VECTORS.key,
      sdkAppId: APP,
      userId: '张三',
      time: T,
      expire: 300,
      userBuf: userBuf.toString('base64'),
    })
    expect(verifyUserSig(pmk, [key], asPmk('张三', { now: T + 100 })).code).toBe(
      'ticket_userbuf_mangled',
    )
    expect(verifyUserSig(pmk, [key], asPmk('张三', { now: T + 101 }))).toMatchObject({
      code: 'ticket_expired',
      message: 'The PrivateMapKey room permission has expired.',
    })
  })

  test('a correctly signed one issued ahead of the clock skew: the clock is named first', () => {
    const ahead = nodePmk('张三', 10000, T + 301)
    expect(verifyUserSig(ahead, [key], asPmk('张三')).code).toBe('ticket_issued_in_future')
  })

  test('a userbuf naming another user (not its mangled form) is still an identifier mismatch', () => {
    const other = Buffer.from(decodeUserSig(nodePmk('bob', 10000)).userBuf as string, 'base64')
    const pmk = variantTicket('node', {
      key: VECTORS.key,
      sdkAppId: APP,
      userId: '张三',
      time: T,
      expire: 300,
      userBuf: other.toString('base64'),
    })
    expect(verifyUserSig(pmk, [key], asPmk('张三'))).toMatchObject({
      code: 'ticket_identifier_mismatch',
      message: 'The PrivateMapKey userbuf names another UserID than the ticket.',
    })
  })
})
