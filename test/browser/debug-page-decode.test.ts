// The page's decoder (public/debug/decode.js, pako in Chromium) against the server's codec
// (src/usersig/decode.ts, node:zlib): for every official variant, the pinned vectors, malformed
// input and a few hundred random mutations, both read the same fields or fail with the same code.
// So what the page shows before Verify is what the service will see.
import { isDeepStrictEqual } from 'node:util'
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import type { Page } from 'playwright-core'
import {
  decodeUserSig,
  signPrivateMapKey,
  signUserSig,
  TicketError,
  type DecodedTicket,
} from '../../src/usersig/index.js'
import { APP_A, KEYS } from '../helpers/http.js'
import {
  ticketOf,
  tencentBase64,
  VARIANTS,
  variantTicket,
  type VariantName,
} from '../helpers/variants.js'
import { VECTORS } from '../helpers/vectors.js'
import { describeInChromium, openDebugPage, serviceAndChromium } from './chromium.js'

type Outcome = { ticket: unknown } | { error: string }

function serverDecode(ticket: string): Outcome {
  try {
    return { ticket: decodeUserSig(ticket) }
  } catch (error) {
    if (error instanceof TicketError) return { error: error.code }
    throw error
  }
}

/** Runs the page's own module in the page, over many inputs at once. */
function pageDecode(page: Page, tickets: string[]): Promise<Outcome[]> {
  return page.evaluate(async (inputs) => {
    const { decodeTicket, TicketDecodeError } = await import('/debug/decode.js' as string)
    return inputs.map((input) => {
      try {
        return { ticket: decodeTicket(input) }
      } catch (error) {
        // Anything but the page's own error is a crash the page would show as nothing at all.
        return {
          error:
            error instanceof TicketDecodeError
              ? (error as { code: string }).code
              : `crash: ${String(error)}`,
        }
      }
    })
  }, tickets)
}

const base = {
  key: VECTORS.key,
  sdkAppId: VECTORS.sdkAppId,
  userId: VECTORS.userId,
  time: VECTORS.time,
  expire: VECTORS.expire,
}
const pmkUserBuf = VECTORS.privateMapKey.strRoomId.userBuf

/** Every official library's spelling, padded and not, plain and with a PrivateMapKey userbuf. */
const variants = (Object.keys(VARIANTS) as VariantName[]).flatMap((name) =>
  [base, { ...base, userBuf: pmkUserBuf }, { ...base, userId: '', expire: 0 }].flatMap((input) => [
    variantTicket(name, input),
    variantTicket(name, input, { unpadded: true }),
  ]),
)

const ours = [
  signUserSig({ sdkAppId: APP_A, userId: 'alice', expire: 86_400, now: 1_700_000_000 }, KEYS.aNew),
  signPrivateMapKey(
    {
      sdkAppId: APP_A,
      userId: 'bob',
      expire: 300,
      now: 1_700_000_000,
      strRoomId: 'café ☕',
      privileges: 255,
    },
    KEYS.aNew,
  ),
  signPrivateMapKey(
    {
      sdkAppId: APP_A,
      userId: 'bob',
      expire: 300,
      now: 1_700_000_000,
      roomId: 4_294_967_295,
      privileges: 0,
    },
    KEYS.aNew,
  ),
]

const json = (doc: unknown) => ticketOf(JSON.stringify(doc))
const flipLastByte = (bytes: Buffer) => {
  const copy = Buffer.from(bytes)
  copy.writeUInt8(copy.readUInt8(copy.length - 1) ^ 1, copy.length - 1)
  return tencentBase64(copy)
}
const doc = {
  'TLS.ver': '2.0',
  'TLS.identifier': 'alice',
  'TLS.sdkappid': 1,
  'TLS.time': 1,
  'TLS.expire': 1,
  'TLS.sig': VECTORS.userSig.sig,
}
const malformed = [
  '',
  'A'.repeat(4097),
  'eJy!!',
  'eJyrVg',
  'eJyrVgr',
  ticketOf('not json'),
  ticketOf('[]'),
  ticketOf('null'),
  ticketOf(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])),
  ticketOf(`\ufeff${JSON.stringify(doc)}`),
  tencentBase64(Buffer.concat([deflateSync(JSON.stringify(doc)), Buffer.from('trailing')])),
  tencentBase64(deflateSync(JSON.stringify(doc), { level: 0 }).subarray(0, -1)),
  flipLastByte(deflateSync(JSON.stringify(doc))), // a wrong Adler-32 checksum
  json({ ...doc, 'TLS.ver': 2 }),
  json({ 'TLS.sdk_appid': '1', 'TLS.version': '201512300000' }),
  json({ ...doc, 'TLS.identifier': 5 }),
  json({ ...doc, 'TLS.sdkappid': -1 }),
  json({ ...doc, 'TLS.sdkappid': 1.5 }),
  json({ ...doc, 'TLS.time': Number.MAX_SAFE_INTEGER, 'TLS.expire': 2 }),
  json({ ...doc, 'TLS.expire': null }),
  json({ ...doc, 'TLS.sig': 'short' }),
  json({ ...doc, 'TLS.userbuf': 'not base64!' }),
  json({ ...doc, 'TLS.userbuf': 'AAAA' }),
  json({ ...doc, 'TLS.userbuf': VECTORS.privateMapKey.roomId.userBuf }),
  // A numeric-room userbuf with a byte too many is not a PrivateMapKey.
  json({
    ...doc,
    'TLS.userbuf': Buffer.concat([
      Buffer.from(VECTORS.privateMapKey.roomId.userBuf, 'base64'),
      Buffer.from([0]),
    ]).toString('base64'),
  }),
  // gzip and raw deflate are not what a ticket holds, whatever pako could read.
  tencentBase64(gzipSync(JSON.stringify(doc))),
  tencentBase64(deflateRawSync(JSON.stringify(doc))),
  ticketOf(`{"__proto__":{"TLS.ver":"2.0"},${JSON.stringify(doc).slice(1)}`),
  json({ pad: 'x'.repeat(100_000) }),
]

/** A valid ticket with one character replaced, inserted or the end cut off. */
const mutated = fc
  .tuple(
    fc.constantFrom(...variants, ...ours),
    fc.nat(),
    fc.constantFrom('mutate', 'insert', 'cut'),
    fc.constantFrom(...'Aa0*-_+/= \né'),
  )
  .map(([ticket, at, how, char]) => {
    const i = at % ticket.length
    if (how === 'cut') return ticket.slice(0, i)
    return ticket.slice(0, i) + char + ticket.slice(how === 'insert' ? i : i + 1)
  })

/** Random documents: fields of every type and range, userbufs that are nearly PrivateMapKeys. */
const userBuf = fc.oneof(
  fc.constant(pmkUserBuf),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  fc.tuple(fc.nat(40), fc.nat(255)).map(([i, byte]) => {
    const bytes = Buffer.from(pmkUserBuf, 'base64')
    if (i < bytes.length) bytes[i] = byte
    const cut = bytes.subarray(0, i % 2 === 0 ? bytes.length : Math.max(3, i))
    return (i % 3 === 0 ? Buffer.concat([cut, Buffer.from([byte])]) : cut).toString('base64')
  }),
  fc.string(),
)
// Mostly well-typed, so that many decode and the later checks are reached too.
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: bad, weight: 1 })
const randomDoc = fc
  .record(
    {
      'TLS.ver': mostly(fc.constant('2.0'), fc.constantFrom(2, '2', null)),
      'TLS.identifier': mostly(fc.string(), fc.oneof(fc.integer(), fc.constant(null))),
      'TLS.sdkappid': mostly(fc.nat(), fc.oneof(fc.double(), fc.string(), fc.constant(-1))),
      'TLS.time': mostly(fc.nat(), fc.oneof(fc.maxSafeNat(), fc.constant(null))),
      'TLS.expire': mostly(fc.nat(), fc.oneof(fc.maxSafeNat(), fc.constant(null))),
      'TLS.sig': mostly(fc.constant(VECTORS.userSig.sig), fc.string()),
      'TLS.userbuf': userBuf,
    },
    { requiredKeys: ['TLS.ver', 'TLS.sdkappid', 'TLS.time', 'TLS.sig'] },
  )
  .chain((d) => fc.constantFrom(0, 1, 6, 9).map((level) => ticketOf(JSON.stringify(d), level)))

describeInChromium('the page decodes tickets as the service does', () => {
  const started = serviceAndChromium()

  test('same fields or same failure code, for official, malformed and random input', async () => {
    const { page, context, problems } = await openDebugPage(started.browser, started.service.base)
    const inputs = [
      ...variants,
      VECTORS.userSig.tickets.node,
      VECTORS.userSig.tickets.python,
      VECTORS.privateMapKey.roomId.ticket,
      VECTORS.privateMapKey.strRoomId.ticket,
      ...ours,
      ...malformed,
      ...fc.sample(mutated, 300),
      ...fc.sample(randomDoc, 300),
    ]
    const inPage = await pageDecode(page, inputs)
    const mismatches = inputs
      .map((input, i) => ({ input, page: inPage[i], server: serverDecode(input) }))
      .filter((row) => !isDeepStrictEqual(row.page, row.server))
    expect(mismatches).toEqual([])
    // Not vacuous: many inputs decode (a third of them as PrivateMapKeys), many fail.
    const decoded = inPage.flatMap((o) => ('ticket' in o ? [o.ticket as DecodedTicket] : []))
    expect(decoded.length).toBeGreaterThan(100)
    expect(decoded.filter((t) => t.privateMapKey !== null).length).toBeGreaterThan(30)
    expect(inputs.length - decoded.length).toBeGreaterThan(300)
    await context.close()
    expect(problems).toEqual([])
  })
})
