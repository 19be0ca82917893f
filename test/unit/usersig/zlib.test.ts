import { deflateSync } from 'node:zlib'
import fc from 'fast-check'
import { decodeTencentBase64, encodeTencentBase64 } from '../../../src/usersig/base64.js'
import { MAX_INFLATED_BYTES, zlibInflate, zlibStore } from '../../../src/usersig/zlib.js'

describe('zlibStore / zlibInflate', () => {
  test.each([0, 1, 185, 4096, 5552, 5553, 40000])(
    'a stored block of %i bytes equals node:zlib level 0 and round-trips within the cap',
    (n) => {
      const data = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff))
      const stored = zlibStore(data)
      expect(stored.equals(deflateSync(data, { level: 0 }))).toBe(true)
      // (beyond the inflate cap the frame is still right, but refused)
      if (n <= MAX_INFLATED_BYTES) expect(zlibInflate(stored)?.equals(data)).toBe(true)
      else expect(zlibInflate(stored)).toBeNull()
    },
  )

  test('a string is stored as its UTF-8 bytes', () => {
    for (const text of ['', '{"TLS.identifier":"alice"}', 'é✓😀', 'x'.repeat(5000)]) {
      expect(zlibStore(text).equals(zlibStore(Buffer.from(text, 'utf8')))).toBe(true)
    }
  })

  test.each([1, 6, 9])('inflates level %i streams', (level) => {
    const data = Buffer.from('{"TLS.ver":"2.0"}'.repeat(10))
    expect(zlibInflate(deflateSync(data, { level }))?.equals(data)).toBe(true)
  })

  test('refuses a stored block with a wrong checksum, a truncated one, and one whose length field lies', () => {
    const stored = zlibStore(Buffer.from('hello'))
    const badSum = Buffer.from(stored)
    badSum.writeUInt8(badSum.readUInt8(badSum.length - 1) ^ 1, badSum.length - 1)
    expect(zlibInflate(badSum)).toBeNull()
    expect(zlibInflate(stored.subarray(0, stored.length - 1))).toBeNull()
    const badLen = Buffer.from(stored)
    badLen[3] = 6
    expect(zlibInflate(badLen)).toBeNull()
  })

  test('caps output at MAX_INFLATED_BYTES', () => {
    expect(zlibInflate(deflateSync(Buffer.alloc(MAX_INFLATED_BYTES))))?.toHaveLength(
      MAX_INFLATED_BYTES,
    )
    expect(zlibInflate(deflateSync(Buffer.alloc(MAX_INFLATED_BYTES + 1)))).toBeNull()
    expect(zlibInflate(zlibStore(Buffer.alloc(MAX_INFLATED_BYTES + 1)))).toBeNull()
  })

  test('refuses raw deflate, gzip and garbage', async () => {
    const { deflateRawSync, gzipSync } = await import('node:zlib')
    const data = Buffer.from('{"a":1}')
    expect(zlibInflate(deflateRawSync(data))).toBeNull()
    expect(zlibInflate(gzipSync(data))).toBeNull()
    expect(zlibInflate(Buffer.from([0x78, 0x9c, 1, 2, 3]))).toBeNull()
    expect(zlibInflate(Buffer.alloc(0))).toBeNull()
  })
})

describe("Tencent's base64 variant", () => {
  test('maps + / = to * - _ and back, padding optional', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x00])
    expect(bytes.toString('base64')).toBe('+/+/AA==')
    expect(encodeTencentBase64(bytes)).toBe('*-*-AA__')
    expect(decodeTencentBase64('*-*-AA__')?.equals(bytes)).toBe(true)
    expect(decodeTencentBase64('*-*-AA')?.equals(bytes)).toBe(true)
  })

  test('encodes any bytes as Node base64 with the mapping, at every length mod 3 and past the scratch buffer', () => {
    const mapped = (bytes: Uint8Array) =>
      Buffer.from(bytes)
        .toString('base64')
        .replace(/\+/g, '*')
        .replace(/\//g, '-')
        .replace(/=/g, '_')
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(encodeTencentBase64(bytes)).toBe(mapped(bytes))
      }),
      { numRuns: 500 },
    )
    for (const n of [0, 1, 2, 3, 3071, 3072, 3073, 9000]) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + 7) & 0xff))
      expect(encodeTencentBase64(bytes)).toBe(mapped(bytes))
      // A view into a larger buffer encodes only its own bytes.
      expect(encodeTencentBase64(Buffer.concat([Buffer.from([1, 2]), bytes]).subarray(2))).toBe(
        mapped(bytes),
      )
    }
  })

  test.each(['+/+/AA==', '*-*-A', 'ab_c', 'ab c', 'abc___', 'ab\n', ''])('refuses %p', (text) => {
    expect(decodeTencentBase64(text)).toBeNull()
  })

  // Characters whose low byte is in the alphabet ('\u0141' ends in 0x41, 'A'), or that are
  // Latin-1 letters, must not pass for ASCII; nor may a ticket longer than the scratch buffer.
  test.each(['AAA\u0141', '\u0141AAA', 'AA\u00e9A', 'AAAA\u{1F600}', 'é'.repeat(4096)])(
    'refuses non-ASCII %p',
    (text) => {
      expect(decodeTencentBase64(text)).toBeNull()
    },
  )

  test('decodes text of any length, beyond the scratch buffer too', () => {
    const bytes = Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 131) & 0xff))
    expect(decodeTencentBase64(encodeTencentBase64(bytes))?.equals(bytes)).toBe(true)
    const long = 'A'.repeat(4095) + '\u0141' + 'A'.repeat(4)
    expect(decodeTencentBase64(long)).toBeNull()
  })
})
