import { createHmac } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import fc from 'fast-check'
import {
  createUserSigKey,
  signContent,
  signUserSig,
  userSigSigner,
} from '../../../src/usersig/index.js'
import { inflateTicket, VECTORS } from '../../helpers/vectors.js'

const key = createUserSigKey('k1', VECTORS.key)
const claims = {
  sdkAppId: VECTORS.sdkAppId,
  userId: VECTORS.userId,
  expire: VECTORS.expire,
  now: VECTORS.time,
}

describe('signUserSig', () => {
  test('signs the pinned vector: same HMAC text, same TLS.sig, same document as the official library', () => {
    expect(
      signContent({
        identifier: 'xiaojun',
        sdkAppId: 1400000000,
        time: 1700000000,
        expire: 15552000,
      }),
    ).toBe(VECTORS.userSig.signContent)
    const ours = JSON.parse(inflateTicket(signUserSig(claims, key)))
    const theirs = JSON.parse(inflateTicket(VECTORS.userSig.tickets.node))
    expect(ours['TLS.sig']).toBe(VECTORS.userSig.sig)
    expect(Object.entries(ours)).toEqual(Object.entries(theirs))
  })

  test('emits one zlib stored block, byte-identical to zlib.deflateSync at level 0', () => {
    const ticket = signUserSig(claims, key)
    const json = inflateTicket(ticket)
    const expected = deflateSync(Buffer.from(json), { level: 0 })
      .toString('base64')
      .replace(/\+/g, '*')
      .replace(/\//g, '-')
      .replace(/=/g, '_')
    expect(ticket).toBe(expected)
    expect(ticket.startsWith('eA')).toBe(true)
  })

  test('the key is the secret string as UTF-8 bytes, never hex-decoded', () => {
    const json = JSON.parse(inflateTicket(signUserSig(claims, key)))
    const asText = createHmac('sha256', VECTORS.key)
      .update(VECTORS.userSig.signContent)
      .digest('base64')
    const asHex = createHmac('sha256', Buffer.from(VECTORS.key, 'hex'))
      .update(VECTORS.userSig.signContent)
      .digest('base64')
    expect(json['TLS.sig']).toBe(asText)
    expect(json['TLS.sig']).not.toBe(asHex)
  })

  test('escapes user ids in the JSON exactly as JSON.stringify does', () => {
    const userId = 'a"b\\c/é✓'
    const json = inflateTicket(signUserSig({ ...claims, userId }, key))
    expect(json).toContain(`"TLS.identifier":${JSON.stringify(userId)},`)
    expect(JSON.parse(json)['TLS.identifier']).toBe(userId)
  })

  test.each([
    ['expire', 86400.5, 'expire must be an integer from 0 to'],
    ['expire', -1, 'expire must be an integer from 0 to'],
    ['expire', '86400', 'expire must be an integer from 0 to'],
    ['expire', Number.NaN, 'expire must be an integer from 0 to'],
    ['sdkAppId', 0, 'sdkAppId must be an integer from 1 to 4294967295'],
    ['sdkAppId', 2 ** 32, 'sdkAppId must be an integer from 1 to 4294967295'],
    ['sdkAppId', 1.5, 'sdkAppId must be an integer from 1 to 4294967295'],
    ['now', 2 ** 53, 'now must be an integer from 0 to'],
    ['now', -5, 'now must be an integer from 0 to'],
    ['userId', '', 'userId must be a non-empty string'],
    ['userId', 42, 'userId must be a non-empty string'],
    ['userId', 'a\ud800', 'userId must be well-formed Unicode of at most 255 UTF-8 bytes'],
    ['userId', 'x'.repeat(256), 'userId must be well-formed Unicode of at most 255 UTF-8 bytes'],
  ])('refuses %s = %p instead of coercing it', (field, value, message) => {
    expect(() => signUserSig({ ...claims, [field]: value } as never, key)).toThrow(
      expect.objectContaining({ name: 'TypeError', message: expect.stringContaining(message) }),
    )
  })

  test('refuses an expire that would overflow time + expire', () => {
    expect(() => signUserSig({ ...claims, expire: Number.MAX_SAFE_INTEGER }, key)).toThrow(
      TypeError,
    )
  })
})

describe('userSigSigner (one app, time and expiry; many users)', () => {
  test('signs the pinned vector as the official library does', () => {
    const sign = userSigSigner(
      { sdkAppId: claims.sdkAppId, expire: claims.expire, now: claims.now },
      key,
    )
    const ours = JSON.parse(inflateTicket(sign(VECTORS.userId)))
    const theirs = JSON.parse(inflateTicket(VECTORS.userSig.tickets.node))
    expect(Object.entries(ours)).toEqual(Object.entries(theirs))
  })

  test('each ticket is exactly the one signUserSig gives that user, for any ids, apps, times and keys', () => {
    fc.assert(
      fc.property(
        fc.record({
          secret: fc.string({ minLength: 1, maxLength: 80 }),
          sdkAppId: fc.integer({ min: 1, max: 0xffff_ffff }),
          expire: fc.integer({ min: 0, max: 50 * 365 * 86400 }),
          now: fc.integer({ min: 0, max: 0xffff_ffff }),
          userIds: fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 32 }), {
            minLength: 1,
            maxLength: 8,
          }),
        }),
        ({ secret, userIds, ...shared }) => {
          const k = createUserSigKey('p', secret)
          const sign = userSigSigner(shared, k)
          for (const userId of userIds) {
            expect(sign(userId)).toBe(signUserSig({ ...shared, userId }, k))
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  test('checks the shared claims once, up front, and each user id on its call', () => {
    const shared = { sdkAppId: claims.sdkAppId, expire: claims.expire, now: claims.now }
    expect(() => userSigSigner({ ...shared, expire: 1.5 }, key)).toThrow(
      'expire must be an integer from 0 to',
    )
    expect(() => userSigSigner({ ...shared, sdkAppId: 0 }, key)).toThrow(
      'sdkAppId must be an integer from 1 to 4294967295',
    )
    const sign = userSigSigner(shared, key)
    expect(() => sign('')).toThrow('userId must be a non-empty string')
    expect(() => sign('a\ud800')).toThrow('userId must be well-formed Unicode')
    expect(() => sign(7 as never)).toThrow(TypeError)
    // A refused id leaves the signer usable.
    expect(sign(VECTORS.userId)).toBe(signUserSig(claims, key))
  })
})

describe('createUserSigKey', () => {
  test('never prints the secret, in JSON or inspection', async () => {
    const { inspect } = await import('node:util')
    const k = createUserSigKey('2026-11', VECTORS.key)
    expect(JSON.stringify(k)).toBe(`{"id":"2026-11","fingerprint":"${k.fingerprint}"}`)
    expect(inspect(k)).toBe(`UserSigKey { id: '2026-11', fingerprint: '${k.fingerprint}' }`)
    expect(k.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    expect(JSON.stringify(k) + inspect(k, { depth: 9 }) + String(k)).not.toContain(VECTORS.key)
    expect(Object.isFrozen(k)).toBe(true)
  })

  test('refuses an empty id or secret', () => {
    expect(() => createUserSigKey('', 'x')).toThrow('key id must be a non-empty string')
    expect(() => createUserSigKey('a', '')).toThrow('key "a": secret must be a non-empty string')
  })
})
