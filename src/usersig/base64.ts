// Tencent's base64 variant: standard base64 with `+` -> `*`, `/` -> `-`, `=` -> `_`.
// This is NOT RFC 4648 base64url: there `-` stands for `+`, here it stands for `/`, and `_` is
// padding, not `/`. Every official TLSSigAPIv2 library uses this mapping for the outer ticket.

// Each 6-bit value's character code, and each character code's 6-bit value (-1 outside the
// variant's alphabet; padding is handled apart).
const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-')
const VALUES = new Int8Array(256).fill(-1)
ALPHABET.forEach((code, value) => (VALUES[code] = value))
const PAD = 0x5f // '_'

// Room for the text of 3 KiB of bytes: far more than any ticket we sign; longer input allocates.
const ENCODE_SCRATCH_BYTES = 4096
const encodeScratch = Buffer.allocUnsafe(ENCODE_SCRATCH_BYTES)

/**
 * Encodes bytes as Tencent's base64 variant (padding kept, as `_`). One pass writes the ASCII
 * text into a scratch buffer and one native call copies it into a new string. Measured against
 * Node's base64 followed by three `replaceAll`: ~0.3 µs against ~0.4-0.5 µs on a ticket's ~185
 * bytes, and ~3x faster on random bytes (which hold more `+` and `/` to replace).
 */
export function encodeTencentBase64(bytes: Uint8Array): string {
  const length = bytes.length
  const textLength = Math.ceil(length / 3) * 4
  const text = textLength <= ENCODE_SCRATCH_BYTES ? encodeScratch : Buffer.allocUnsafe(textLength)
  const whole = length - (length % 3)
  let at = 0
  for (let i = 0; i < whole; i += 3) {
    const n =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number)
    text[at++] = ALPHABET[n >> 18] as number
    text[at++] = ALPHABET[(n >> 12) & 0x3f] as number
    text[at++] = ALPHABET[(n >> 6) & 0x3f] as number
    text[at++] = ALPHABET[n & 0x3f] as number
  }
  if (whole < length) {
    const second = whole + 1 < length
    const n = ((bytes[whole] as number) << 16) | (second ? (bytes[whole + 1] as number) << 8 : 0)
    text[at++] = ALPHABET[n >> 18] as number
    text[at++] = ALPHABET[(n >> 12) & 0x3f] as number
    text[at++] = second ? (ALPHABET[(n >> 6) & 0x3f] as number) : PAD
    text[at++] = PAD
  }
  return text.toString('latin1', 0, at)
}

// The text's bytes are written here first: 3 bytes per UTF-16 unit, so a write is never cut short.
const SCRATCH_CHARS = 4096
const scratch = Buffer.allocUnsafe(3 * SCRATCH_CHARS)

/**
 * Decodes Tencent's base64 variant, with or without its `_` padding. Returns `null` for anything
 * that is not exactly that alphabet: Node's own base64 decoder silently skips unknown characters,
 * which would let a mangled ticket decode to something.
 *
 * The text is written out as UTF-8 in one native call (its byte count equals its length only if
 * it is all ASCII), then one pass over the bytes, four at a time, validates and decodes. Measured
 * ~1.9x faster than reading `charCodeAt` per character, and ~2x faster than a validating regex
 * plus a mapping `replace` and Node's base64.
 */
export function decodeTencentBase64(text: string): Buffer | null {
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === PAD && text.length - end < 2) end--
  const tail = end % 4
  // A base64 string of length 4k+1 cannot come from any byte string.
  if (end === 0 || tail === 1) return null
  const bytes = text.length <= SCRATCH_CHARS ? scratch : Buffer.allocUnsafe(3 * text.length)
  if (bytes.write(text, 0, 'utf8') !== text.length) return null // not ASCII
  const out = Buffer.allocUnsafe(((end - tail) / 4) * 3 + (tail === 0 ? 0 : tail - 1))
  let at = 0
  let i = 0
  for (; i < end - tail; i += 4) {
    const n = sextets(bytes, i, 4)
    if (n < 0) return null
    out[at++] = n >> 16
    out[at++] = (n >> 8) & 0xff
    out[at++] = n & 0xff
  }
  if (tail !== 0) {
    const n = sextets(bytes, i, tail)
    if (n < 0) return null
    out[at++] = n >> 16
    if (tail === 3) out[at] = (n >> 8) & 0xff
  }
  return out
}

/** The 6-bit values of `count` (2-4) bytes from `start`, packed big-endian into 24 bits; -1 if any is outside the alphabet. */
function sextets(bytes: Uint8Array, start: number, count: number): number {
  const a = VALUES[bytes[start] as number] as number
  const b = VALUES[bytes[start + 1] as number] as number
  const c = count > 2 ? (VALUES[bytes[start + 2] as number] as number) : 0
  const d = count > 3 ? (VALUES[bytes[start + 3] as number] as number) : 0
  return (a | b | c | d) < 0 ? -1 : (a << 18) | (b << 12) | (c << 6) | d
}
