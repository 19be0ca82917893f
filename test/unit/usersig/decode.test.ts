import { decodeUserSig, MAX_TICKET_LENGTH, TicketError } from '../../../src/usersig/index.js'
import { ticketOf, VARIANTS, variantTicket, type VariantName } from '../../helpers/variants.js'
import { VECTORS } from '../../helpers/vectors.js'

const input = {
  key: VECTORS.key,
  sdkAppId: VECTORS.sdkAppId,
  userId: VECTORS.userId,
  time: VECTORS.time,
  expire: VECTORS.expire,
}
const decoded = {
  version: '2.0',
  userId: 'xiaojun',
  sdkAppId: 1400000000,
  issuedAt: 1700000000,
  expire: 15552000,
  expiresAt: 1700000000 + 15552000,
  userBuf: null,
  privateMapKey: null,
}

function decodeError(ticket: string): { code: string; message: string } {
  try {
    decodeUserSig(ticket)
  } catch (error) {
    if (error instanceof TicketError) return { code: error.code, message: error.message }
    throw error
  }
  throw new Error('decoded')
}

describe('decodeUserSig', () => {
  test.each(Object.keys(VARIANTS) as VariantName[])(
    'decodes the %s variant, padded or not',
    (name) => {
      expect(decodeUserSig(variantTicket(name, input))).toEqual(decoded)
      expect(decodeUserSig(variantTicket(name, input, { unpadded: true }))).toEqual(decoded)
    },
  )

  test('decodes the pinned official Node and Python tickets, which differ byte for byte', () => {
    expect(VECTORS.userSig.tickets.node).not.toBe(VECTORS.userSig.tickets.python)
    expect(decodeUserSig(VECTORS.userSig.tickets.node)).toEqual(decoded)
    expect(decodeUserSig(VECTORS.userSig.tickets.python)).toEqual(decoded)
  })

  test('reads escaped and non-ASCII identifiers (PHP/Python escape them, Go escapes <>&)', () => {
    for (const name of ['php', 'python', 'go', 'node'] as const) {
      const userId = 'a/<b>&ü✓'
      expect(decodeUserSig(variantTicket(name, { ...input, userId })).userId).toBe(userId)
    }
  })

  test('refuses the official Node library\'s "TLS.expire":null (from genUserSig without expire)', async () => {
    const { official } = await import('../../helpers/official.js')
    const ticket = official(1400000000, VECTORS.key, VECTORS.time, (api) =>
      api.genUserSig('xiaojun', undefined as never),
    )
    expect(decodeError(ticket)).toEqual({
      code: 'ticket_malformed',
      message: "The ticket's TLS.expire is not a non-negative integer.",
    })
  })

  test("reads Go's omitted zero expire as 0", () => {
    expect(decodeUserSig(variantTicket('go', { ...input, expire: 0 }))).toEqual({
      ...decoded,
      expire: 0,
      expiresAt: 1700000000,
    })
  })

  test.each([
    ['', 'ticket_empty', 'The ticket is empty.'],
    [
      'eJ!!',
      'ticket_malformed',
      "The ticket has characters outside Tencent's base64 alphabet (A-Z a-z 0-9 * - and _ padding).",
    ],
    [
      'eJyr+/==',
      'ticket_malformed',
      "The ticket has characters outside Tencent's base64 alphabet (A-Z a-z 0-9 * - and _ padding).",
    ],
    [
      'eJ_yr',
      'ticket_malformed',
      "The ticket has characters outside Tencent's base64 alphabet (A-Z a-z 0-9 * - and _ padding).",
    ],
    [
      'eJyrV',
      'ticket_malformed',
      "The ticket has characters outside Tencent's base64 alphabet (A-Z a-z 0-9 * - and _ padding).",
    ],
    [
      'eJyrVgrx',
      'ticket_malformed',
      'The ticket is not a complete zlib stream within the size limit.',
    ],
    [
      VECTORS.userSig.tickets.node.slice(0, 100),
      'ticket_malformed',
      'The ticket is not a complete zlib stream within the size limit.',
    ],
    [
      'A'.repeat(MAX_TICKET_LENGTH + 1),
      'ticket_malformed',
      'The ticket is longer than 4096 characters.',
    ],
  ])('refuses case %# as %s', (ticket, code, message) => {
    expect(decodeError(ticket)).toEqual({ code, message })
  })

  test.each([
    [Buffer.from([0xff, 0xfe, 0x7b]), 'The ticket does not hold a UTF-8 JSON document.'],
    ['not json', 'The ticket does not hold a UTF-8 JSON document.'],
    ['[1,2]', 'The ticket does not hold a JSON object.'],
    ['null', 'The ticket does not hold a JSON object.'],
    [
      '{"TLS.ver":"2.0","TLS.identifier":5,"TLS.sdkappid":1,"TLS.time":1,"TLS.expire":1,"TLS.sig":"x"}',
      "The ticket's TLS.identifier is not a string.",
    ],
    [
      '{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":"1400000000","TLS.time":1,"TLS.expire":1}',
      "The ticket's TLS.sdkappid is not a non-negative integer.",
    ],
    [
      '{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.time":1.5,"TLS.expire":1}',
      "The ticket's TLS.time is not a non-negative integer.",
    ],
    [
      '{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.time":1,"TLS.expire":-1}',
      "The ticket's TLS.expire is not a non-negative integer.",
    ],
    [
      '{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.time":9007199254740991,"TLS.expire":9}',
      "The ticket's TLS.expire is not a smaller integer.",
    ],
    [
      '{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.time":1,"TLS.expire":1,"TLS.sig":"abc="}',
      "The ticket's TLS.sig is not the base64 of a 32-byte HMAC-SHA256.",
    ],
    [
      '{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.time":1,"TLS.expire":1,"TLS.sig":"LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=","TLS.userbuf":"a b"}',
      "The ticket's TLS.userbuf is not a standard base64 string.",
    ],
  ])('refuses a zlib document %#', (doc, message) => {
    expect(decodeError(ticketOf(doc))).toEqual({ code: 'ticket_malformed', message })
  })

  test('a __proto__ key in the document reaches no prototype', () => {
    const doc =
      '{"TLS.ver":"2.0","__proto__":{"TLS.identifier":"evil"},"TLS.sdkappid":1,"TLS.time":1,"TLS.expire":1,"TLS.sig":"LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="}'
    expect(decodeUserSig(ticketOf(doc)).userId).toBe('')
    expect(({} as Record<string, unknown>)['TLS.identifier']).toBeUndefined()
  })

  test.each([
    ['{"TLS.ver":"1.0"}', 'The ticket is not a TLSSigAPIv2 ("TLS.ver": "2.0") ticket.'],
    ['{"TLS.ver":2}', 'The ticket is not a TLSSigAPIv2 ("TLS.ver": "2.0") ticket.'],
    [
      '{"TLS.account_type":"0","TLS.identifier":"a","TLS.appid_at_3rd":"0","TLS.sdk_appid":"1400000000","TLS.expire_after":"180","TLS.version":"201512300000","TLS.time":"1700000000","TLS.sig":"MEUCIQ"}',
      'This is a v1 (ECDSA) ticket; TLSSigAPIv2 tickets are signed with the HMAC secret key.',
    ],
  ])('refuses a ticket of another version: %s', (doc, message) => {
    expect(decodeError(ticketOf(doc))).toEqual({ code: 'ticket_version_unsupported', message })
  })

  test('a decompression bomb is refused in milliseconds without a memory spike', () => {
    // ~2.7 KB of ticket that would inflate to 2 MiB.
    const bomb = ticketOf(Buffer.alloc(2 * 1024 * 1024, 0x20), 9)
    expect(bomb.length).toBeLessThan(MAX_TICKET_LENGTH)
    const rssBefore = process.memoryUsage().rss
    const started = process.hrtime.bigint()
    for (let i = 0; i < 20; i++) expect(decodeError(bomb).code).toBe('ticket_malformed')
    const perCallMs = Number(process.hrtime.bigint() - started) / 1e6 / 20
    expect(perCallMs).toBeLessThan(50) // generous on a shared machine; measured ~0.1 ms
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(16 * 1024 * 1024)
    expect(decodeError(bomb).message).toBe(
      'The ticket is not a complete zlib stream within the size limit.',
    )
  })
})
