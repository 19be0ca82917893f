// Runs the real service (src/main.ts through tsx) as a child process on a free loopback port.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url))

export interface Service {
  readonly child: ChildProcess
  readonly url: string
  stdout: string
  stderr: string
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

// By path, so that the service can run in any folder (a bare `tsx` resolves from the cwd).
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href

/**
 * Starts the service; resolves once it logs "listening" (or exits). `script` runs a built entry
 * point (e.g. an installed package's dist/main.js) with plain node instead of src/main.ts; `cwd`
 * is the folder it runs in.
 */
export async function startService(
  env: Record<string, string>,
  { script, cwd }: { script?: string; cwd?: string } = {},
): Promise<Service> {
  const port = await freePort()
  const args = script === undefined ? ['--import', TSX, MAIN] : [script]
  const child = spawn(process.execPath, args, {
    ...(cwd === undefined ? {} : { cwd }),
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const service: Service = {
    child,
    url: `http://127.0.0.1:${port}`,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) =>
      child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    ),
  }
  await new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      service.stdout += chunk.toString()
      if (service.stdout.includes('"msg":"listening"')) resolve()
    })
    child.stderr?.on('data', (chunk: Buffer) => (service.stderr += chunk.toString()))
    void service.exited.then(() => resolve())
  })
  return service
}

/** Waits (bounded) until the service's output satisfies `ready`. */
export async function waitForOutput(
  service: Service,
  ready: (s: Service) => boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ready(service) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20))
}
