import {
  createUserSigKey,
  signPrivateMapKey,
  signUserSig,
  verifyUserSig,
  type VerifyOptions,
} from '../../../src/usersig/index.js'
import { ticketOf, variantTicket, VARIANTS, type VariantName } from '../../helpers/variants.js'
import { VECTORS } from '../../helpers/vectors.js'

const current = createUserSigKey('2026-11', 'a-new-secret-key-of-the-app-0123456789')
const previous = createUserSigKey('2026-05', VECTORS.key)
const T = VECTORS.time
const expect70 = (code: string, tencentErrorCode: number | null) => ({
  valid: false,
  code,
  tencentErrorCode,
  keyId: null,
})
const opts: VerifyOptions = { sdkAppId: VECTORS.sdkAppId, userId: VECTORS.userId, now: T }
const input = {
  key: VECTORS.key,
  sdkAppId: VECTORS.sdkAppId,
  userId: VECTORS.userId,
  time: T,
  expire: VECTORS.expire,
}

describe('verifyUserSig', () => {
  test('accepts the pinned official tickets and reports which key matched', () => {
    for (const ticket of Object.values(VECTORS.userSig.tickets)) {
      expect(verifyUserSig(ticket, [current, previous], opts)).toEqual({
        valid: true,
        code: null,
        tencentErrorCode: null,
        message: 'The ticket is valid.',
        keyId: '2026-05',
        ticket: {
          version: '2.0',
          userId: 'xiaojun',
          sdkAppId: 1400000000,
          issuedAt: T,
          expire: 15552000,
          expiresAt: T + 15552000,
          userBuf: null,
          privateMapKey: null,
        },
      })
    }
  })

  test.each(Object.keys(VARIANTS) as VariantName[])('accepts the %s variant', (name) => {
    expect(verifyUserSig(variantTicket(name, input), [previous], opts)).toMatchObject({
      valid: true,
      keyId: '2026-05',
    })
    expect(
      verifyUserSig(variantTicket(name, input, { unpadded: true }), [previous], opts).valid,
    ).toBe(true)
  })

  test('rotation: the primary signs, every listed key verifies', () => {
    const fresh = signUserSig(
      { sdkAppId: 1400000000, userId: 'alice', expire: 600, now: T },
      current,
    )
    const old = signUserSig(
      { sdkAppId: 1400000000, userId: 'alice', expire: 600, now: T },
      previous,
    )
    const o = { ...opts, userId: 'alice' }
    expect(verifyUserSig(fresh, [current, previous], o)).toMatchObject({
      valid: true,
      keyId: '2026-11',
    })
    expect(verifyUserSig(old, [current, previous], o)).toMatchObject({
      valid: true,
      keyId: '2026-05',
    })
    // once the old key is removed, its tickets fail as Tencent would fail them
    expect(verifyUserSig(old, [current], o)).toMatchObject(
      expect70('ticket_signature_invalid', 70009),
    )
  })

  test('expiry is inclusive to the second: valid while now <= time + expire', () => {
    const ticket = signUserSig({ sdkAppId: 1400000000, userId: 'bob', expire: 60, now: T }, current)
    const at = (now: number) => verifyUserSig(ticket, [current], { ...opts, userId: 'bob', now })
    expect(at(T + 60)).toMatchObject({ valid: true })
    expect(at(T + 61)).toEqual({
      ...expect70('ticket_expired', 70001),
      message: 'The ticket has expired.',
      ticket: expect.objectContaining({ userId: 'bob', expiresAt: T + 60 }),
    })
  })

  test.each([
    [
      'another user',
      { userId: 'xiaoming' },
      'ticket_identifier_mismatch',
      70013,
      'The ticket was issued for another UserID.',
    ],
    [
      'another app',
      { sdkAppId: 1400000001 },
      'ticket_sdkappid_mismatch',
      70014,
      'The ticket was issued for another SDKAppID.',
    ],
    ['a later time', { now: T + 15552001 }, 'ticket_expired', 70001, 'The ticket has expired.'],
  ])('refuses a ticket checked for %s', (_, change, code, tencentErrorCode, message) => {
    expect(verifyUserSig(VECTORS.userSig.tickets.node, [previous], { ...opts, ...change })).toEqual(
      {
        ...expect70(code, tencentErrorCode),
        message,
        ticket: expect.objectContaining({ userId: 'xiaojun', sdkAppId: 1400000000 }),
      },
    )
  })

  test('checks in the official order: identifier, sdkappid, expiry, then signature', () => {
    const forged = variantTicket('node', { ...input, key: 'not-the-key' })
    expect(verifyUserSig(forged, [previous], { ...opts, now: T + 99999999 }).code).toBe(
      'ticket_expired',
    )
    expect(verifyUserSig(forged, [previous], { ...opts, sdkAppId: 1 }).code).toBe(
      'ticket_sdkappid_mismatch',
    )
    expect(verifyUserSig(forged, [previous], { ...opts, userId: 'x' }).code).toBe(
      'ticket_identifier_mismatch',
    )
    expect(verifyUserSig(forged, [previous], opts)).toEqual({
      ...expect70('ticket_signature_invalid', 70009),
      message: 'The ticket signature does not match any key of this SDKAppID.',
      ticket: expect.objectContaining({ userId: 'xiaojun' }),
    })
  })

  test('any change to a signed field breaks the signature', () => {
    for (const change of [{ expire: VECTORS.expire + 1 }, { time: T - 1 }]) {
      // a ticket whose fields were edited but whose TLS.sig was kept
      const { json } = VARIANTS.node(input)
      const doc = JSON.parse(json)
      if ('expire' in change) doc['TLS.expire'] = change.expire
      if ('time' in change) doc['TLS.time'] = change.time
      expect(verifyUserSig(ticketOf(JSON.stringify(doc)), [previous], opts).code).toBe(
        'ticket_signature_invalid',
      )
    }
  })

  test('refuses a correctly signed ticket issued further in the future than the clock skew', () => {
    const ticket = signUserSig(
      { sdkAppId: 1400000000, userId: 'xiaojun', expire: 86400, now: T + 301 },
      previous,
    )
    expect(verifyUserSig(ticket, [previous], opts)).toEqual({
      ...expect70('ticket_issued_in_future', null),
      message:
        'The ticket was issued 301 s in the future (more than the allowed 300 s); check the issuer clock.',
      ticket: expect.objectContaining({ issuedAt: T + 301 }),
    })
    expect(verifyUserSig(ticket, [previous], { ...opts, now: T + 1 }).valid).toBe(true)
    expect(verifyUserSig(ticket, [previous], { ...opts, maxClockSkew: 301 }).valid).toBe(true)
  })

  test('a PrivateMapKey is not a UserSig, unless asked for', () => {
    const pmk = VECTORS.privateMapKey.roomId.ticket
    expect(verifyUserSig(pmk, [previous], opts)).toEqual({
      ...expect70('ticket_kind_mismatch', null),
      message: 'The ticket carries a userbuf (a PrivateMapKey); a plain UserSig was expected.',
      ticket: expect.objectContaining({
        privateMapKey: expect.objectContaining({ roomId: 10000 }),
      }),
    })
    expect(verifyUserSig(pmk, [previous], { ...opts, kind: 'privatemapkey' })).toMatchObject({
      valid: true,
    })
    expect(verifyUserSig(pmk, [previous], { ...opts, kind: 'any' })).toMatchObject({ valid: true })
    expect(
      verifyUserSig(VECTORS.userSig.tickets.node, [previous], { ...opts, kind: 'privatemapkey' }),
    ).toMatchObject({
      code: 'ticket_kind_mismatch',
      message: 'The ticket is not a PrivateMapKey (no room permission userbuf).',
    })
  })

  test('a PrivateMapKey room permission lapses at its own absolute expiry', () => {
    const pmk = signPrivateMapKey(
      { sdkAppId: 1400000000, userId: 'xiaojun', expire: 300, now: T, roomId: 7, privileges: 255 },
      previous,
    )
    const o = { ...opts, kind: 'privatemapkey' as const }
    expect(verifyUserSig(pmk, [previous], { ...o, now: T + 300 }).valid).toBe(true)
    expect(verifyUserSig(pmk, [previous], { ...o, now: T + 301 }).code).toBe('ticket_expired')
  })

  test('reports a malformed ticket as a verdict, never by throwing', () => {
    expect(verifyUserSig('%%%', [previous], opts)).toEqual({
      ...expect70('ticket_malformed', 70003),
      message:
        "The ticket has characters outside Tencent's base64 alphabet (A-Z a-z 0-9 * - and _ padding).",
      ticket: null,
    })
    expect(verifyUserSig('', [previous], opts)).toMatchObject(expect70('ticket_empty', 70002))
  })

  test('refuses to run without keys or with a non-integer clock (programming errors)', () => {
    expect(() => verifyUserSig('x', [], opts)).toThrow('verifyUserSig needs at least one key')
    expect(() => verifyUserSig('x', [previous], { ...opts, now: 1.5 })).toThrow(
      'now must be a non-negative integer',
    )
    expect(() => verifyUserSig('x', [previous], { ...opts, maxClockSkew: Number.NaN })).toThrow(
      'maxClockSkew must be a non-negative integer',
    )
    expect(() => verifyUserSig('x', [previous], { ...opts, sdkAppId: '1' as never })).toThrow(
      'sdkAppId must be an integer',
    )
    expect(() => verifyUserSig('x', [previous], { ...opts, userId: 5 as never })).toThrow(
      'userId must be a string',
    )
    expect(() => verifyUserSig('x', [previous], { ...opts, kind: 'jwt' as never })).toThrow(
      'kind must be',
    )
  })
})
