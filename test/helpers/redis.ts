// A real redis-server (Debian's package: scripts/install-redis.sh) for the tests: started on a free
// loopback port with a password and no persistence, stopped after. It can be paused (SIGSTOP: a
// Redis that hangs), killed, and started again on the same port.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { freePort } from './process.js'
import { describeWithPart } from './skip.js'

export const REDIS_SERVER = '/usr/bin/redis-server'

/** `describe` where redis-server is installed; elsewhere skipped with the reason (failed under CI). */
export const describeWithRedis = describeWithPart(
  'redis',
  existsSync(REDIS_SERVER),
  `${REDIS_SERVER} is missing (scripts/install-redis.sh installs it)`,
)

export interface RedisServer {
  /** redis://:password@127.0.0.1:port/0 */
  readonly url: string
  readonly port: number
  readonly password: string
  /** Sends a command (RESP) and resolves with the raw reply. */
  command(...args: string[]): Promise<string>
  pause(): void
  resume(): void
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<void>
  /** Starts it again on the same port (after kill). */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Starts one; `port` and `password` where a test needs them chosen beforehand. */
export async function startRedis(
  chosen: { port?: number; password?: string } = {},
): Promise<RedisServer> {
  const port = chosen.port ?? (await freePort())
  const password = chosen.password ?? randomBytes(16).toString('hex')
  let child: ChildProcess = await launch(port, password)
  const server: RedisServer = {
    url: `redis://:${password}@127.0.0.1:${port}/0`,
    port,
    password,
    command: (...args) => redisCommand(port, ['AUTH', password], args),
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await exited
    },
    async restart() {
      await server.kill()
      child = await launch(port, password)
    },
    stop: () => server.kill(),
  }
  return server
}

async function launch(port: number, password: string): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--requirepass',
      password,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`)
    try {
      if ((await redisCommand(port, ['AUTH', password], ['PING'])).startsWith('+PONG')) return child
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis-server did not answer on port ${port}: ${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** One RESP exchange on a fresh connection: AUTH, then the command; resolves with the last reply. */
function redisCommand(port: number, auth: string[], args: string[]): Promise<string> {
  const encode = (words: string[]) =>
    `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let reply = ''
    socket.setTimeout(2_000, () => socket.destroy(new Error('redis command timed out')))
    socket.on('error', reject)
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString()
      // The AUTH reply, then the command's (a simple reply is one line).
      const lines = reply.split('\r\n')
      if (lines.length >= 3) {
        socket.end()
        resolve(lines.slice(1).join('\r\n'))
      }
    })
    socket.on('connect', () => socket.write(encode(auth) + encode(args)))
  })
}
