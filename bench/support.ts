// What the benchmark scripts share: a free loopback port, waiting for a server, reading RSS, a
// sink for exported spans.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { connect, createServer } from 'node:net'

/** The node flags of the image's command line (the Dockerfile's exec-form CMD): the service as shipped. */
export function shippedNodeFlags(): string[] {
  const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8')
  const command = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[]
  if (command[0] !== 'node' || command.at(-1) !== 'dist/main.js') {
    throw new Error(`unexpected Dockerfile CMD: ${JSON.stringify(command)}`)
  }
  return command.slice(1, -1)
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Resolves once 127.0.0.1:port accepts connections (10 s at most). */
export async function waitForPort(port: number, name: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      }).on('error', () => resolve(false))
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${name} did not start`)
}

/** Resident memory of one process, in MB (0 once it is gone). */
export function processRssMb(pid: number): number {
  try {
    return (
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
    )
  } catch {
    return 0
  }
}

/**
 * A local OTLP/HTTP endpoint that reads each export to its end and discards it (200, an empty
 * answer): the benchmarks' "tracing on" cases export there, so the cost measured is the service's.
 */
export async function otlpSink(): Promise<{
  url: string
  exports: () => number
  close: () => void
}> {
  let count = 0
  const server = createHttpServer((req, res) => {
    req.resume()
    req.on('end', () => {
      count++
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' })
      res.end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, exports: () => count, close: () => server.close() }
}
