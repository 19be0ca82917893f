// HTTP/1.1 over a raw TCP socket, for requests no well-behaved client would send: any method, any
// bytes in the request line and headers, lying lengths, trickled bytes. Parses what comes back.
import { connect, type Socket } from 'node:net'

export interface RawResponse {
  readonly status: number
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** The body, de-chunked when the response was chunked. */
  readonly body: string
}

export interface RawExchange {
  /** Every response read from the connection, in order (more than one when requests were pipelined). */
  readonly responses: readonly RawResponse[]
  /** Everything the server sent, as latin1 text. */
  readonly raw: string
  /** The server closed (or reset) the connection. */
  readonly closed: boolean
  /** Neither a close nor the expected responses arrived in time; the socket was destroyed. */
  readonly timedOut: boolean
  /** A socket error on the client side (e.g. ECONNRESET, EPIPE after the server cut us off). */
  readonly error: string | null
  /** Milliseconds from connecting to the end of the exchange. */
  readonly ms: number
}

export interface RawOptions {
  /** Give up after this long (ms). */
  readonly timeoutMs?: number
  /** The request was HEAD: its response has no body. */
  readonly head?: boolean
  /** Half-close the socket after writing (the server sees EOF but can still answer). */
  readonly end?: boolean
  /** Resolve as soon as this many complete responses were read, without waiting for a close. */
  readonly responses?: number
}

/**
 * Opens a connection, writes `request` (bytes or text, written as latin1 so every byte value can
 * be sent), and collects the answer until the server closes, `responses` complete responses were
 * read, or the timeout passes.
 */
export function rawExchange(
  port: number,
  request: Buffer | string,
  options: RawOptions = {},
): Promise<RawExchange> {
  const { timeoutMs = 5000, head = false, end = true, responses: wanted } = options
  const started = performance.now()
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let error: string | null = null
    let done = false
    const finish = (closed: boolean, timedOut: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const raw = Buffer.concat(chunks).toString('latin1')
      resolve({
        responses: parseResponses(raw, head),
        raw,
        closed,
        timedOut,
        error,
        ms: performance.now() - started,
      })
    }
    const timer = setTimeout(() => finish(false, true), timeoutMs)
    socket.on('connect', () => {
      socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request)
      if (end) socket.end()
    })
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      if (wanted !== undefined) {
        const raw = Buffer.concat(chunks).toString('latin1')
        if (parseResponses(raw, head).length >= wanted) finish(false, false)
      }
    })
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message))
    socket.on('close', () => finish(true, false))
  })
}

/** Parses consecutive HTTP/1.x responses; a trailing incomplete response is left out. */
export function parseResponses(raw: string, head = false): RawResponse[] {
  const out: RawResponse[] = []
  let at = 0
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at)
    if (headEnd < 0) break
    const lines = raw.slice(at, headEnd).split('\r\n')
    const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
    if (statusLine === null) break
    const status = Number(statusLine[1])
    const headers: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    let bodyStart = headEnd + 4
    let body = ''
    const noBody = head || status === 204 || status === 304 || (status >= 100 && status < 200)
    if (noBody) {
      // nothing
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parsed = dechunk(raw, bodyStart)
      if (parsed === null) break
      ;({ body, end: bodyStart } = parsed)
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length'])
      if (bodyStart + length > raw.length) break
      body = raw.slice(bodyStart, bodyStart + length)
      bodyStart += length
    } else {
      // Delimited by the close.
      body = raw.slice(bodyStart)
      bodyStart = raw.length
    }
    // Bodies are UTF-8 on the wire; we read latin1 to keep every byte.
    out.push({ status, headers, body: Buffer.from(body, 'latin1').toString('utf8') })
    at = noBody ? headEnd + 4 : bodyStart
  }
  return out
}

function dechunk(raw: string, start: number): { body: string; end: number } | null {
  let at = start
  let body = ''
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at)
    if (lineEnd < 0) return null
    const size = parseInt(raw.slice(at, lineEnd), 16)
    if (Number.isNaN(size)) return null
    at = lineEnd + 2
    if (size === 0) {
      const trailerEnd = raw.indexOf('\r\n', at)
      return trailerEnd < 0 ? null : { body, end: trailerEnd + 2 }
    }
    if (at + size + 2 > raw.length) return null
    body += raw.slice(at, at + size)
    at += size + 2
  }
}

/** Opens a connection and resolves once connected (for idle-socket and trickle tests). */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}
