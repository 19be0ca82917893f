// A redis-server for the benchmarks (Debian's package: scripts/install-redis.sh), on a free
// loopback port, with a password and no persistence; null where it is not installed.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { freePort, waitForPort } from './support.js'

const REDIS_SERVER = '/usr/bin/redis-server'

export interface BenchRedis {
  readonly url: string
  stop(): Promise<void>
}

export async function startBenchRedis(): Promise<BenchRedis | null> {
  if (!existsSync(REDIS_SERVER)) return null
  const port = await freePort()
  const password = randomBytes(16).toString('hex')
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--save', ''],
    { stdio: 'ignore' },
  )
  await waitForPort(port, 'redis-server')
  return {
    url: `redis://:${password}@127.0.0.1:${port}/0`,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}
