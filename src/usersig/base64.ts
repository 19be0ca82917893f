// Tencent's base64 variant: standard base64 with `+` -> `*`, `/` -> `-`, `=` -> `_`.
// This is NOT RFC 4648 base64url: there `-` stands for `+`, here it stands for `/`, and `_` is
// padding, not `/`. Every official TLSSigAPIv2 library uses this mapping for the outer ticket.

const TO_STANDARD: Record<string, string> = { '*': '+', '-': '/', _: '=' }
const FROM_STANDARD: Record<string, string> = { '+': '*', '/': '-', '=': '_' }

// A whole ticket: the variant's alphabet, with padding (`_`) optional and only at the end.
const TICKET_ALPHABET = /^[A-Za-z0-9*-]+_{0,2}$/

/** Encodes bytes as Tencent's base64 variant (padding kept, as `_`). */
export function encodeTencentBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('base64')
    .replace(/[+/=]/g, (c) => FROM_STANDARD[c] as string)
}

/**
 * Decodes Tencent's base64 variant, with or without padding. Returns `null` for anything that is
 * not exactly that alphabet: Node's own base64 decoder silently skips unknown characters, which
 * would let a mangled ticket decode to something.
 */
export function decodeTencentBase64(text: string): Buffer | null {
  if (!TICKET_ALPHABET.test(text)) return null
  const unpadded = text.replace(/_+$/, '')
  // A base64 string of length 4k+1 cannot come from any byte string.
  if (unpadded.length % 4 === 1) return null
  return Buffer.from(
    unpadded.replace(/[*-]/g, (c) => TO_STANDARD[c] as string),
    'base64',
  )
}
