// A loopback HTTP server whose every answer a test scripts (hang, stall, reset, 429, 503...), and
// which records what it was sent: for the typed client against a server that misbehaves.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  /** When it arrived (performance.now()). */
  readonly at: number
}

export interface RecordingServer {
  readonly url: string
  /** Every request received, in order. */
  readonly requests: Recorded[]
  close(): Promise<void>
}

/** `handle` answers the `n`th request (1 for the first), or never: a test's choice. */
export async function startRecordingServer(
  handle: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Promise<RecordingServer> {
  const requests: Recorded[] = []
  const server = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      at: performance.now(),
    })
    // Read the body (a client may wait for it to be taken) and answer as scripted.
    req.resume()
    handle(req, res, requests.length)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

/** A problem+json answer like the service's. */
export function problem(
  res: ServerResponse,
  status: number,
  code: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({
    type: `urn:usersig-service:problem:${code}`,
    title: 'scripted',
    status,
    code,
  })
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers }).end(body)
}
