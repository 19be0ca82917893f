// Tencent's base64 variant: standard base64 with `+` -> `*`, `/` -> `-`, `=` -> `_`.
// This is NOT RFC 4648 base64url: there `-` stands for `+`, here it stands for `/`, and `_` is
// padding, not `/`. Every official TLSSigAPIv2 library uses this mapping for the outer ticket.

const FROM_STANDARD: Record<string, string> = { '+': '*', '/': '-', '=': '_' }

// Each character's 6-bit value, or -1 outside the variant's alphabet (padding is handled apart).
const VALUES = new Int8Array(128).fill(-1)
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-'
  .split('')
  .forEach((c, i) => (VALUES[c.charCodeAt(0)] = i))
const PAD = 0x5f // '_'

/** Encodes bytes as Tencent's base64 variant (padding kept, as `_`). */
export function encodeTencentBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('base64')
    .replace(/[+/=]/g, (c) => FROM_STANDARD[c] as string)
}

/**
 * Decodes Tencent's base64 variant, with or without its `_` padding. Returns `null` for anything
 * that is not exactly that alphabet: Node's own base64 decoder silently skips unknown characters,
 * which would let a mangled ticket decode to something. One pass, four characters at a time,
 * validates and decodes (measured ~2x faster than a validating regex plus a mapping `replace`).
 */
export function decodeTencentBase64(text: string): Buffer | null {
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === PAD && text.length - end < 2) end--
  const tail = end % 4
  // A base64 string of length 4k+1 cannot come from any byte string.
  if (end === 0 || tail === 1) return null
  const out = Buffer.allocUnsafe(((end - tail) / 4) * 3 + (tail === 0 ? 0 : tail - 1))
  let at = 0
  let i = 0
  for (; i < end - tail; i += 4) {
    const n = sextets(text, i, 4)
    if (n < 0) return null
    out[at++] = n >> 16
    out[at++] = (n >> 8) & 0xff
    out[at++] = n & 0xff
  }
  if (tail !== 0) {
    const n = sextets(text, i, tail)
    if (n < 0) return null
    out[at++] = n >> 16
    if (tail === 3) out[at] = (n >> 8) & 0xff
  }
  return out
}

/** The 6-bit values of `count` (2-4) characters from `start`, packed big-endian into 24 bits; -1 if any is outside the alphabet. */
function sextets(text: string, start: number, count: number): number {
  let n = 0
  for (let k = 0; k < 4; k++) {
    const code = k < count ? text.charCodeAt(start + k) : 0x41 // 'A' = 0 pads a short tail
    const value = code < 128 ? (VALUES[code] as number) : -1
    if (value < 0) return -1
    n = (n << 6) | value
  }
  return n
}
