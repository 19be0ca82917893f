// Runs the real service (the built dist/main.js, or `npm start`) as a child process on a free
// loopback port.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { request } from 'node:http'
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { builtMain } from './build.js'

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

/**
 * Starts the service (the tests' build of the sources, test/helpers/build.ts); resolves once it
 * logs "listening" (or exits). `script` runs another entry point (e.g. an installed package's
 * dist/main.js); `cwd` is the folder it runs in, by default a fresh one of its own (removed when
 * it exits), so that what it writes there (the development token) is its own.
 */
export async function startService(
  env: Record<string, string>,
  { script, cwd }: { script?: string; cwd?: string } = {},
): Promise<Service> {
  const port = await freePort()
  const own = cwd === undefined ? mkdtempSync(join(tmpdir(), 'usersig-service-')) : undefined
  const child = spawn(process.execPath, [script ?? builtMain()], {
    cwd: cwd ?? own,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (own !== undefined) child.once('exit', () => rmSync(own, { recursive: true, force: true }))
  return listened(child, port)
}

/**
 * Runs `npm <args>` (e.g. `start`) in `cwd` (a folder like the checkout: test/helpers/build.ts's
 * linkedCheckout), as a person would, with a clean environment (not the npm_* variables of an
 * `npm test` around this run); resolves once the service logs "listening" (or npm exits).
 */
export async function startNpm(
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<Service> {
  const port = await freePort()
  const child = spawn('npm', args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return listened(child, port)
}

async function listened(child: ChildProcess, port: number): Promise<Service> {
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

/** A cluster primary's workers: its children. */
export function workerPids(primary: ChildProcess): number[] {
  return execFileSync('ps', ['-o', 'pid=', '--ppid', String(primary.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => Number(line.trim()))
}

/**
 * Which of `pids` holds the server end of the loopback TCP connection between `serverPort` and
 * `clientPort` (Linux: the socket's inode from /proc/net/tcp, then each process's fds). Under
 * node:cluster this names the worker that serves a kept-alive connection.
 */
export function connectionOwner(
  serverPort: number,
  clientPort: number,
  pids: number[],
): number | undefined {
  const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, '0')
  const row = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find(
      (fields) =>
        fields[1]?.endsWith(`:${hexPort(serverPort)}`) &&
        fields[2]?.endsWith(`:${hexPort(clientPort)}`),
    )
  const socket = `socket:[${row?.[9]}]`
  if (row === undefined) return undefined
  return pids.find((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === socket
        } catch {
          return false // closed meanwhile
        }
      })
    } catch {
      return false // the process is gone
    }
  })
}

/** How an issue on a fresh connection ended, and how long it took. */
export interface IssueOutcome {
  /** The status; or `unanswered` (no answer within the client timeout), or the error's code. */
  readonly status: number | string
  readonly ms: number
}

/**
 * Issues a ticket on a fresh connection (a pooled one could still point at a killed worker), as a
 * client with a 5 s timeout would; never rejects: what went wrong is the outcome.
 */
export function issueOnce(service: Service, token: string): Promise<IssueOutcome> {
  const started = performance.now()
  return new Promise((resolve) => {
    const done = (status: number | string) => resolve({ status, ms: performance.now() - started })
    const req = request(
      `${service.url}/usersig`,
      {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume()
        res.on('end', () => done(res.statusCode ?? 0))
        res.on('error', () => done('reset mid-answer'))
      },
    )
    req.setTimeout(5_000, () => req.destroy(new Error('unanswered')))
    req.on('error', (error: NodeJS.ErrnoException) =>
      done(error.message === 'unanswered' ? 'unanswered' : (error.code ?? error.message)),
    )
    req.end(JSON.stringify({ sdkAppId: 1400000000, userId: 'alice' }))
  })
}

/** issueOnce's status, or a rejection when there was none. */
export async function issueOnFreshConnection(service: Service, token: string): Promise<number> {
  const { status } = await issueOnce(service, token)
  if (typeof status !== 'number') throw new Error(`no answer: ${status}`)
  return status
}
