// zlib (RFC 1950) framing for tickets: we emit one stored block, and inflate anything, capped.
import { inflateSync } from 'node:zlib'

/**
 * The largest JSON document a ticket may inflate to. A real UserSig inflates to ~170 bytes and a
 * PrivateMapKey with a 64-byte string room to ~330, so 4 KiB is generous; the cap is applied
 * while inflating, so a decompression bomb stops after 4 KiB of output, not after megabytes.
 */
export const MAX_INFLATED_BYTES = 4096

// One stored block holds at most 65 535 bytes; our documents are far below MAX_INFLATED_BYTES.
const STORED_HEADER_BYTES = 7 // CMF, FLG, block header, LEN (2), NLEN (2)
const ADLER_BYTES = 4

/**
 * Wraps `data` (bytes, or a string as its UTF-8 bytes) in a zlib stream made of a single stored
 * (uncompressed) deflate block.
 *
 * Why not compress: on ~185-byte documents `zlib.deflateSync` costs ~10 us, most of a ticket's
 * cost, and saves ~70 bytes of ticket. Tencent's own Go library has emitted stored-block tickets
 * (zlib level 0) since 2024, and every inflater accepts them. A string is written straight into
 * the frame, with no intermediate Buffer. A test proves the bytes equal
 * `zlib.deflateSync(data, { level: 0 })`.
 */
export function zlibStore(data: string | Uint8Array): Buffer {
  const length = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length
  const out = Buffer.allocUnsafe(STORED_HEADER_BYTES + length + ADLER_BYTES)
  out[0] = 0x78 // CMF: deflate, 32 KiB window
  out[1] = 0x01 // FLG: level "fastest", no dictionary; (0x78 << 8 | 0x01) % 31 === 0
  out[2] = 0x01 // BFINAL = 1, BTYPE = 00 (stored)
  out.writeUInt16LE(length, 3)
  out.writeUInt16LE(~length & 0xffff, 5)
  if (typeof data === 'string') out.write(data, STORED_HEADER_BYTES, 'utf8')
  else out.set(data, STORED_HEADER_BYTES)
  const end = STORED_HEADER_BYTES + length
  out.writeUInt32BE(adler32(out, STORED_HEADER_BYTES, end), end)
  return out
}

/**
 * Inflates a zlib stream to at most MAX_INFLATED_BYTES, or returns `null` if it is not a valid,
 * complete zlib stream within that cap. A single stored block (our own tickets, Go's) is read
 * directly; anything else goes through node:zlib with `maxOutputLength`, which stops inflating at
 * the cap (pako, the other candidate, has no output cap).
 */
export function zlibInflate(stream: Buffer): Buffer | null {
  return readSingleStoredBlock(stream) ?? inflateCapped(stream)
}

function readSingleStoredBlock(stream: Buffer): Buffer | null {
  const length = stream.length - STORED_HEADER_BYTES - ADLER_BYTES
  if (
    length < 0 ||
    length > MAX_INFLATED_BYTES ||
    stream[0] !== 0x78 ||
    ((stream[0] << 8) | (stream[1] as number)) % 31 !== 0 ||
    ((stream[1] as number) & 0x20) !== 0 || // preset dictionary
    stream[2] !== 0x01 ||
    stream.readUInt16LE(3) !== length ||
    stream.readUInt16LE(5) !== (~length & 0xffff)
  ) {
    return null
  }
  // A wrong checksum is what Tencent's inflater would reject too: let node:zlib say so.
  const end = STORED_HEADER_BYTES + length
  if (stream.readUInt32BE(end) !== adler32(stream, STORED_HEADER_BYTES, end)) return null
  return stream.subarray(STORED_HEADER_BYTES, end)
}

function inflateCapped(stream: Buffer): Buffer | null {
  try {
    return inflateSync(stream, { maxOutputLength: MAX_INFLATED_BYTES })
  } catch {
    // Z_DATA_ERROR, Z_BUF_ERROR (truncated) and ERR_BUFFER_TOO_LARGE (over the cap) alike.
    return null
  }
}

// Adler-32 (RFC 1950 section 9). node:zlib exposes no adler32 on Node 20. As zlib does, the
// modulo is taken once per 5552 bytes: the most that cannot overflow the sums between reductions.
const ADLER_BASE = 65521
const ADLER_NMAX = 5552

/** Adler-32 of `bytes[start, end)`. */
function adler32(bytes: Uint8Array, start: number, end: number): number {
  let a = 1
  let b = 0
  for (let from = start; from < end; from += ADLER_NMAX) {
    const to = Math.min(from + ADLER_NMAX, end)
    for (let i = from; i < to; i++) {
      a += bytes[i] as number
      b += a
    }
    a %= ADLER_BASE
    b %= ADLER_BASE
  }
  return ((b << 16) | a) >>> 0
}
