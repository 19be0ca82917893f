// Property tests against the official npm library `tls-sig-api-v2`, its clock pinned.
import fc from 'fast-check'
import {
  createUserSigKey,
  decodeUserSig,
  signPrivateMapKey,
  signUserSig,
  verifyUserSig,
} from '../../../src/usersig/index.js'
import { official } from '../../helpers/official.js'
import { officialVerify } from '../../helpers/official-verify.js'
import { inflateTicket } from '../../helpers/vectors.js'

const RUNS = Number(process.env.COMPAT_RUNS ?? 300)

const hexKey = fc.stringMatching(/^[0-9a-f]{64}$/)
const anyKey = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 })
const strictId = fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/)
const printableId = fc.stringMatching(/^[\x20-\x7e]{1,32}$/)
const unicodeId = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 })

const claims = fc.record({
  key: fc.oneof(hexKey, anyKey),
  sdkAppId: fc.integer({ min: 1, max: 0xffff_ffff }),
  userId: fc.oneof(strictId, printableId, unicodeId),
  expire: fc.oneof(
    fc.integer({ min: 0, max: 50 * 365 * 86400 }),
    fc.constantFrom(0, 60, 86400, 15552000),
  ),
  now: fc.integer({ min: 0, max: 0xffff_ffff }),
})

describe('compatibility with the official tls-sig-api-v2 library', () => {
  test('UserSig: same document (fields, values, order) and same TLS.sig; each verifies by the other side', () => {
    fc.assert(
      fc.property(claims, ({ key, sdkAppId, userId, expire, now }) => {
        const ours = signUserSig({ sdkAppId, userId, expire, now }, createUserSigKey('k', key))
        const theirs = official(sdkAppId, key, now, (api) => api.genUserSig(userId, expire))
        const ourDoc = JSON.parse(inflateTicket(ours))
        const theirDoc = JSON.parse(inflateTicket(theirs))
        expect(Object.entries(ourDoc)).toEqual(Object.entries(theirDoc))
        expect(ourDoc['TLS.sig']).toBe(theirDoc['TLS.sig'])
        // their ticket by our rules, ours by Tencent's
        const verdict = verifyUserSig(theirs, [createUserSigKey('k', key)], {
          sdkAppId,
          userId,
          now,
        })
        expect(verdict).toMatchObject({ valid: true, keyId: 'k' })
        expect(officialVerify(ours, key, sdkAppId, userId, now)).toBe('ok')
        expect(officialVerify(ours, key, sdkAppId, userId, now + expire + 1)).toBe('expired')
      }),
      { numRuns: RUNS },
    )
  })

  test('PrivateMapKey with ASCII ids and rooms: byte-identical userbuf, same TLS.sig', () => {
    const pmk = fc.record({
      key: hexKey,
      sdkAppId: fc.integer({ min: 1, max: 0xffff_ffff }),
      userId: fc.oneof(strictId, printableId),
      expire: fc.integer({ min: 1, max: 86400 * 30 }),
      now: fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }),
      room: fc.oneof(
        fc.record({ roomId: fc.integer({ min: 1, max: 0xffff_ffff }) }),
        fc.record({ strRoomId: fc.stringMatching(/^[\x20-\x7e]{1,64}$/) }),
      ),
      privileges: fc.integer({ min: 0, max: 255 }),
    })
    fc.assert(
      fc.property(pmk, ({ key, sdkAppId, userId, expire, now, room, privileges }) => {
        const ours = signPrivateMapKey(
          { sdkAppId, userId, expire, now, ...room, privileges },
          createUserSigKey('k', key),
        )
        const theirs = official(sdkAppId, key, now, (api) =>
          'roomId' in room
            ? api.genPrivateMapKey(userId, expire, room.roomId, privileges)
            : api.genPrivateMapKeyWithStringRoomID(userId, expire, room.strRoomId, privileges),
        )
        expect(inflateTicket(ours)).toBe(inflateTicket(theirs))
        expect(decodeUserSig(theirs).privateMapKey).toMatchObject({
          ...room,
          privileges,
          expiresAt: now + expire,
        })
        expect(officialVerify(ours, key, sdkAppId, userId, now)).toBe('ok')
      }),
      { numRuns: RUNS },
    )
  })
})
