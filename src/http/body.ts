// A request's JSON body: the media type checked from the headers, the bytes read by raw-body (the
// reader body-parser uses: the limit checked from Content-Length before reading, then while
// reading), then strict JSON in UTF-8.
import type { IncomingMessage } from 'node:http'
import { parse as parseContentType } from 'content-type'
import getRawBody from 'raw-body'
import { ServiceError } from '../errors.js'

const UNSUPPORTED_TYPE = () => new ServiceError('unsupported_media_type')

/** Throws 415 unless the body is declared as uncompressed `application/json` in UTF-8. */
export function checkJsonMediaType(req: IncomingMessage): void {
  const encoding = req.headers['content-encoding']
  // No compressed bodies: a ticket request is tiny, and inflating is a cost we need not offer.
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    const detail = 'Send the JSON body uncompressed (no Content-Encoding).'
    throw new ServiceError('unsupported_media_type', detail)
  }
  const type = req.headers['content-type']
  if (type === undefined) throw UNSUPPORTED_TYPE()
  let media
  try {
    media = parseContentType(type)
  } catch {
    throw UNSUPPORTED_TYPE()
  }
  if (media.type !== 'application/json') throw UNSUPPORTED_TYPE()
  const charset = media.parameters.charset?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8') {
    throw new ServiceError('unsupported_media_type', 'The body must be UTF-8 JSON.')
  }
}

/** Throws 413 when the declared Content-Length is over `limit` (before asking for the body). */
export function checkDeclaredLength(req: IncomingMessage, limit: number): void {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit)
    throw new ServiceError('payload_too_large')
}

/**
 * Reads the whole body, at most `limit` bytes. Rejects with 413 `payload_too_large` (from the
 * declared length, before reading, or once the bytes pass the limit) or 400 `invalid_request` when
 * the client sends less than it declared or goes away mid-body.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // raw-body learns of a client gone mid-body from 'aborted', which Node deprecates; 'close'
    // before the body is complete ends the read as well, so no request waits forever.
    const onClose = () => {
      if (!req.complete) reject(cutShort(new Error('the connection closed before the body ended')))
    }
    req.once('close', onClose)
    getRawBody(req, { limit, length: req.headers['content-length'] ?? null }, (error, bytes) => {
      req.off('close', onClose)
      if (error === null || error === undefined) return resolve(bytes)
      if (error.type === 'entity.too.large') {
        return reject(new ServiceError('payload_too_large', undefined, { cause: error }))
      }
      if (error.type === 'request.aborted' || error.type === 'request.size.invalid') {
        return reject(cutShort(error))
      }
      return reject(error)
    })
  })
}

const cutShort = (cause: unknown) =>
  new ServiceError('invalid_request', 'The request body was cut short.', { cause })

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
// Strict JSON: the first character that is not JSON whitespace must open an object or an array.
const FIRST = /^[ \t\n\r]*([^ \t\n\r])/

/**
 * Parses a body as strict JSON (an object or an array at the top, as express.json reads it) in
 * UTF-8; a byte order mark is skipped, and an empty body is `{}`. Throws 400 `malformed_json`.
 */
export function parseJson(bytes: Uint8Array): unknown {
  let text: string
  try {
    text = UTF8.decode(bytes) // drops a leading byte order mark
  } catch (error) {
    throw new ServiceError('malformed_json', 'The body is not valid UTF-8.', { cause: error })
  }
  if (text.length === 0) return {}
  const first = FIRST.exec(text)?.[1]
  if (first !== '{' && first !== '[') throw new ServiceError('malformed_json')
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    // JSON.parse's own message quotes the input: never pass it on.
    throw new ServiceError('malformed_json', undefined, { cause: error })
  }
}
