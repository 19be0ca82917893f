// Ending a connection whose request body was not read, without destroying the answer.
//
// When the service answers before reading the body (401, 404, 413, ...), keeping the connection
// would make Node read and discard the rest of the body, however large: one unauthenticated
// client could make the server read gigabytes. Closing at once is no better: a socket closed with
// unread data makes the kernel send a reset, which can destroy an answer the client has not read
// yet (so a client that sends a 200 MiB body sees "connection reset", not the 413).
//
// So, as nginx and Apache do ("lingering close"): send the answer with `Connection: close`,
// half-close (FIN after the answer), then read and discard what the client still sends, and close
// when the client closes or the time budget runs out. Past the byte budget nothing more is read:
// the connection waits, paused, for the client's close or the end of the time budget.
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

export interface LingerBudget {
  /** The most bytes read and discarded after the answer. */
  readonly bytes: number
  /** The longest time (ms) spent discarding after the answer. */
  readonly ms: number
}

/**
 * 1 MiB and 1 s. With the kernel's socket buffers on top, a client that reads only after sending
 * (Python's urllib) still reads its 413 for a 2 MiB body, and a client that reads while it sends
 * reads it whatever the size; an unauthenticated client costs the server at most 1 MiB of reading
 * per connection. docs/architecture.md has the measurements.
 */
export const LINGER_BUDGET: LingerBudget = { bytes: 1024 * 1024, ms: 1_000 }

/** Whether the request declares a body (a length above 0, or a transfer coding). */
export function declaresBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Called before the answer's head is written, when the body has not been read to its end: the
 * caller sends `Connection: close`, and once Node has handed the answer to the socket, the
 * connection lingers instead of being destroyed.
 */
export function lingerAfterAnswer(req: IncomingMessage, budget: LingerBudget): void {
  const socket = req.socket as Socket & { destroySoon(): void }
  // Node ends a `Connection: close` exchange with socket.destroySoon() once the answer is written
  // (node:_http_server resOnFinish): that destroy is what would reset the connection.
  socket.destroySoon = () => linger(socket, budget)
}

function linger(socket: Socket, { bytes, ms }: LingerBudget): void {
  if (socket.destroyed) return
  // The HTTP parser is done with this connection: what arrives now is discarded, never parsed (a
  // request pipelined after the body is not served on a closing connection).
  socket.removeAllListeners('data')
  socket.removeAllListeners('end')
  socket.on('error', ignore)
  socket.end() // FIN once the answer has been flushed: the client can read it to the end
  let left = bytes
  const timer = setTimeout(() => socket.destroy(), ms).unref()
  socket.once('close', () => clearTimeout(timer))
  socket.once('end', () => socket.destroy()) // the client closed its side too: done
  socket.on('data', (chunk: Buffer) => {
    left -= chunk.length
    // Out of bytes: stop reading rather than close. The client's sends stall on a full window
    // (no reset yet, no more work here), so it still has the rest of the time to read the answer.
    if (left <= 0) socket.pause()
  })
  socket.resume()
}

function ignore(): void {}
