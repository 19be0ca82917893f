// What the benchmark scripts share: a free loopback port, waiting for a server, reading RSS.
import { readFileSync } from 'node:fs'
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
