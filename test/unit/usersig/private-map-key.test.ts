import {
  createUserSigKey,
  decodePrivateMapKeyUserBuf,
  decodeUserSig,
  privilegeMap,
  privilegeNames,
  signPrivateMapKey,
} from '../../../src/usersig/index.js'
import { official } from '../../helpers/official.js'
import { inflateTicket, VECTORS } from '../../helpers/vectors.js'
import { ALL_PRIVILEGES } from '../../helpers/privileges.js'

const key = createUserSigKey('k', VECTORS.key)
const base = {
  sdkAppId: VECTORS.sdkAppId,
  userId: VECTORS.userId,
  expire: VECTORS.expire,
  now: VECTORS.time,
}

describe('signPrivateMapKey', () => {
  test.each([
    ['numeric room', { roomId: 10000 }, VECTORS.privateMapKey.roomId],
    ['string room', { strRoomId: '1000000040' }, VECTORS.privateMapKey.strRoomId],
  ])('matches the pinned official %s: userbuf bytes and TLS.sig', (_, room, vector) => {
    const doc = JSON.parse(
      inflateTicket(signPrivateMapKey({ ...base, ...room, privileges: 255 }, key)),
    )
    expect(Buffer.from(doc['TLS.userbuf'], 'base64').toString('hex')).toBe(vector.userBufHex)
    expect(doc['TLS.userbuf']).toBe(vector.userBuf)
    expect(doc['TLS.sig']).toBe(vector.sig)
    expect(Object.entries(doc)).toEqual(Object.entries(JSON.parse(inflateTicket(vector.ticket))))
  })

  test('matches the official library live for other ASCII ids, rooms and privileges', () => {
    const cases = [
      { userId: 'user_01', roomId: 1, privileges: 42 },
      { userId: 'A-b', roomId: 4294967295, privileges: 0 },
      { userId: 'z', strRoomId: 'room:#1 (test)', privileges: 128 },
    ]
    for (const c of cases) {
      const theirs = official(1400000000, VECTORS.key, VECTORS.time, (api) =>
        'roomId' in c
          ? api.genPrivateMapKey(c.userId, 300, c.roomId as number, c.privileges)
          : api.genPrivateMapKeyWithStringRoomID(
              c.userId,
              300,
              c.strRoomId as string,
              c.privileges,
            ),
      )
      const ours = signPrivateMapKey({ ...base, expire: 300, ...c } as never, key)
      expect(inflateTicket(ours)).toBe(inflateTicket(theirs))
    }
  })

  test('counts lengths in UTF-8 bytes, where the official library corrupts non-ASCII', () => {
    const userId = '用户✓'
    const strRoomId = 'комната'
    const ticket = signPrivateMapKey({ ...base, userId, strRoomId, privileges: 3 }, key)
    expect(decodeUserSig(ticket).privateMapKey).toEqual({
      userId,
      sdkAppId: 1400000000,
      roomId: null,
      strRoomId,
      expiresAt: VECTORS.time + VECTORS.expire,
      privileges: 3,
      privilegeNames: ['createRoom', 'enterRoom'],
      accountType: 0,
    })
    const theirs = official(1400000000, VECTORS.key, VECTORS.time, (api) =>
      api.genPrivateMapKeyWithStringRoomID(userId, VECTORS.expire, strRoomId, 3),
    )
    // it writes each character's low byte: the ids in its userbuf are not the ones asked for
    expect(decodeUserSig(theirs).privateMapKey).toMatchObject({
      userId: '(7\x13',
      strRoomId: ':><=0B0',
    })
  })

  test('decodes its own fields: room, absolute expiry, privileges by name', () => {
    const ticket = signPrivateMapKey(
      {
        ...base,
        expire: 300,
        roomId: 10000,
        privileges: ['enterRoom', 'receiveAudio', 'receiveVideo'],
      },
      key,
    )
    expect(decodeUserSig(ticket)).toMatchObject({
      expire: 300,
      privateMapKey: {
        userId: 'xiaojun',
        sdkAppId: 1400000000,
        roomId: 10000,
        strRoomId: null,
        expiresAt: VECTORS.time + 300,
        privileges: 42,
        privilegeNames: ['enterRoom', 'receiveAudio', 'receiveVideo'],
        accountType: 0,
      },
    })
  })

  test.each([
    [{ roomId: 0 }, 'roomId must be an integer from 1 to 4294967295'],
    [{ roomId: 2 ** 32 }, 'roomId must be an integer from 1 to 4294967295'],
    [{ roomId: 1.5 }, 'roomId must be an integer from 1 to 4294967295'],
    [
      { strRoomId: '' },
      'strRoomId must be 1 to 64 UTF-8 bytes without control characters (or give roomId)',
    ],
    [
      { strRoomId: 'x'.repeat(65) },
      'strRoomId must be 1 to 64 UTF-8 bytes without control characters (or give roomId)',
    ],
    [
      { strRoomId: 'a\nb' },
      'strRoomId must be 1 to 64 UTF-8 bytes without control characters (or give roomId)',
    ],
    [{ roomId: 1, strRoomId: 'a' }, 'give either roomId or strRoomId, not both'],
    [{}, 'strRoomId must be 1 to 64 UTF-8 bytes without control characters (or give roomId)'],
  ])('refuses room %p', (room, message) => {
    expect(() => signPrivateMapKey({ ...base, ...room, privileges: 1 } as never, key)).toThrow(
      message,
    )
  })

  test('refuses an absolute expiry beyond u32 (year 2106)', () => {
    expect(() =>
      signPrivateMapKey({ ...base, now: 2 ** 32 - 10, expire: 20, roomId: 1, privileges: 1 }, key),
    ).toThrow('expiry (now + expire) must be an integer from 0 to 4294967295')
  })
})

describe('privileges', () => {
  test('accept the eight named bits or a number 0-255', () => {
    expect(privilegeMap(ALL_PRIVILEGES as never)).toBe(255)
    expect(privilegeMap([])).toBe(0)
    expect(privilegeMap(['receiveSubStream'])).toBe(128)
    expect(privilegeMap(42)).toBe(42)
    expect(privilegeNames(255)).toEqual(ALL_PRIVILEGES)
    expect(privilegeNames(0)).toEqual([])
    expect(() => privilegeMap(256)).toThrow('privileges must be an integer from 0 to 255')
    expect(() => privilegeMap(['admin' as never])).toThrow(
      `privileges: unknown privilege; known: ${ALL_PRIVILEGES.join(', ')}`,
    )
    expect(() => privilegeMap(['toString' as never])).toThrow('privileges: unknown privilege')
  })
})

describe('decodePrivateMapKeyUserBuf', () => {
  test('returns null for anything not exactly the layout', () => {
    const good = Buffer.from(VECTORS.privateMapKey.roomId.userBuf, 'base64')
    expect(decodePrivateMapKeyUserBuf(good)).not.toBeNull()
    expect(decodePrivateMapKeyUserBuf(good.subarray(0, good.length - 1))).toBeNull()
    expect(decodePrivateMapKeyUserBuf(Buffer.concat([good, Buffer.from([0])]))).toBeNull()
    expect(decodePrivateMapKeyUserBuf(Buffer.from([2, 0, 0]))).toBeNull()
    expect(decodePrivateMapKeyUserBuf(Buffer.alloc(2))).toBeNull()
    const str = Buffer.from(VECTORS.privateMapKey.strRoomId.userBuf, 'base64')
    expect(decodePrivateMapKeyUserBuf(str.subarray(0, str.length - 1))).toBeNull()
  })
})
