// The exact text TLSSigAPIv2 signs with HMAC-SHA256: the single source of truth for both sides.
import { createHmac, type KeyObject } from 'node:crypto'

/** The values a ticket's signature covers, already canonical (safe integers, UTF-8 strings). */
export interface SignedFields {
  readonly identifier: string
  readonly sdkAppId: number
  readonly time: number
  readonly expire: number
  /** The standard-base64 `TLS.userbuf` string exactly as it stands in the ticket, if any. */
  readonly userBuf?: string | undefined
}

/**
 * Builds the signed text. Every line ends with `\n`, the last one included, and the order is
 * fixed (it is not the JSON order of any library). The userbuf line is present only when the
 * ticket carries a userbuf.
 */
export function signContent(fields: SignedFields): string {
  return signedText(fields.identifier, signedTail(fields))
}

/** The signed text after the identifier line: what tickets of one app, time and expiry share. */
export function signedTail(fields: Omit<SignedFields, 'identifier'>): string {
  const text =
    `TLS.sdkappid:${fields.sdkAppId}\n` +
    `TLS.time:${fields.time}\n` +
    `TLS.expire:${fields.expire}\n`
  return fields.userBuf === undefined ? text : `${text}TLS.userbuf:${fields.userBuf}\n`
}

function signedText(identifier: string, tail: string): string {
  return `TLS.identifier:${identifier}\n${tail}`
}

/** HMAC-SHA256 of the signed text: the 32 raw bytes whose standard base64 is `TLS.sig`. */
export function computeSignature(fields: SignedFields, secret: KeyObject): Buffer {
  return createHmac('sha256', secret).update(signContent(fields), 'utf8').digest()
}

/** `TLS.sig` itself: the signature as standard base64, for an identifier and a `signedTail`. */
export function signatureText(identifier: string, tail: string, secret: KeyObject): string {
  return createHmac('sha256', secret).update(signedText(identifier, tail), 'utf8').digest('base64')
}
