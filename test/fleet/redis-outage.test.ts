// Redis failing costs no tickets and no hangs, against the real thing: two replicas of two workers
// each, counting in one real redis-server, keep issuing while Redis hangs (SIGSTOP), dies
// (SIGKILL) and comes back, under a steady load on both: no 5xx, no answer slower than a second,
// one warning per outage per process, /readyz and the metric saying which count is in force, and
// the shared count back by itself. A Redis unreachable at start does not stop the start; a
// malformed URL does.
import { randomBytes } from 'node:crypto'
import { APP_A, USERSIG_APPS } from '../helpers/http.js'
import {
  freePort,
  issueOnce,
  startService,
  waitForOutput,
  type IssueOutcome,
  type Service,
} from '../helpers/process.js'
import { describeWithRedis, startRedis, type RedisServer } from '../helpers/redis.js'
import { scaled } from '../helpers/stress.js'

const token = randomBytes(24).toString('base64url')
const env = (redisUrl: string) => ({
  NODE_ENV: 'test',
  WEB_CONCURRENCY: '2',
  USERSIG_REDIS_URL: redisUrl,
  USERSIG_APPS: JSON.stringify(USERSIG_APPS),
  USERSIG_CLIENTS: JSON.stringify([
    { id: 'load', token, apps: [APP_A], scopes: ['usersig:issue'], rateLimitPerMinute: 1_000_000 },
  ]),
})
const OUTAGE = 'rate limits: the shared count is unreachable'
const BACK = 'rate limits: counting in the shared store again'
/** How long each phase of the outage lasts. */
const PHASE_MS = scaled(1_500, 4_000)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const count = (text: string, what: string) => text.split(what).length - 1

const issue = (service: Service) => issueOnce(service, token)

/** Issues, `concurrency` at a time, until stopped; every outcome kept. */
function steadyLoad(service: Service, concurrency: number) {
  const outcomes: IssueOutcome[] = []
  let running = true
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) outcomes.push(await issue(service))
  })
  return {
    outcomes,
    stop: async () => {
      running = false
      await Promise.all(loops)
      return outcomes
    },
  }
}

/** The metric of the cluster (the lowest of its workers: 0 if any counts on its own). */
async function sharedMetric(service: Service): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  return Number(/^usersig_rate_limit_shared\{store="redis"\} (\d+)$/m.exec(text)?.[1] ?? NaN)
}

/** Outages counted by the cluster's workers, summed. */
async function fallbacks(service: Service): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  return Number(/^usersig_rate_limit_fallbacks_total\{store="redis"\} (\d+)$/m.exec(text)?.[1] ?? 0)
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(100)
  }
  return check()
}

const listening = (service: Service) => service.stdout.split('"msg":"listening"').length - 1

describeWithRedis('Redis hangs, dies and comes back under load', () => {
  let redis: RedisServer
  let replicas: Service[]
  beforeAll(async () => {
    redis = await startRedis()
    replicas = await Promise.all([startService(env(redis.url)), startService(env(redis.url))])
    for (const replica of replicas) await waitForOutput(replica, (s) => listening(s) === 2, 20_000)
  }, 30_000)
  afterAll(async () => {
    for (const replica of replicas ?? []) replica.child.kill('SIGKILL')
    await Promise.all((replicas ?? []).map((replica) => replica.exited))
    await redis?.stop()
  })

  /** Every replica's metric: 0 while any of its workers counts on its own. */
  const shared = async () => Promise.all(replicas.map(sharedMetric))
  const allShared = async () => (await shared()).every((value) => value === 1)

  test('no 5xx, no answer over 1 s, one warning per outage per process, back to the shared count by itself', async () => {
    const loads = replicas.map((replica) => steadyLoad(replica, 4))
    await sleep(PHASE_MS)

    // Redis hangs: requests stop waiting for it, the processes count on their own.
    redis.pause()
    await sleep(PHASE_MS)
    expect(await shared()).toEqual([0, 0])
    for (const replica of replicas) {
      const ready = (await (await fetch(`${replica.url}/readyz`)).json()) as {
        status: string
        rateLimit: unknown
      }
      expect(ready).toMatchObject({ status: 'ready', rateLimit: { store: 'redis', shared: false } })
    }
    redis.resume()
    expect(await waitFor(allShared, 10_000)).toBe(true)

    // Redis dies, and starts again on the same port.
    await redis.kill()
    await sleep(PHASE_MS)
    expect(await shared()).toEqual([0, 0])
    await redis.restart()
    expect(await waitFor(allShared, 10_000)).toBe(true)
    await sleep(PHASE_MS / 2)

    const outcomes = (await Promise.all(loads.map((load) => load.stop()))).flat()
    const statuses = new Map<string, number>()
    for (const { status } of outcomes)
      statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1)
    const slowest = Math.max(...outcomes.map((o) => o.ms))
    console.log(
      `redis outage: ${outcomes.length} issues on 2 replicas during a hang and a restart: ${JSON.stringify(Object.fromEntries(statuses))}, slowest ${slowest.toFixed(0)} ms`,
    )
    expect([...statuses.keys()]).toEqual(['200'])
    expect(slowest).toBeLessThan(1_000)
    for (const replica of replicas) {
      // Each of its two workers warned once per outage (two outages), and said it was back.
      expect(count(replica.stdout, OUTAGE)).toBeGreaterThanOrEqual(2)
      expect(count(replica.stdout, OUTAGE)).toBeLessThanOrEqual(4)
      expect(count(replica.stdout, BACK)).toBe(count(replica.stdout, OUTAGE))
      expect(replica.stdout).not.toContain(redis.password)
      // And the metric counted each of those outages once.
      expect(await fallbacks(replica)).toBe(count(replica.stdout, OUTAGE))
    }
    // The count is Redis's again.
    const before = await redis.command('GET', 'usersig:rl:1000000:static:load')
    expect((await issue(replicas[0] as Service)).status).toBe(200)
    expect(await redis.command('GET', 'usersig:rl:1000000:static:load')).not.toBe(before)
  }, 60_000)
})

describeWithRedis('a Redis unreachable at start', () => {
  test('the service starts counting per process, warns, and joins Redis when it comes up', async () => {
    const port = await freePort()
    const password = randomBytes(8).toString('hex')
    const url = `redis://:${password}@127.0.0.1:${port}/0`
    const service = await startService({ ...env(url), WEB_CONCURRENCY: '1' })
    try {
      expect(listening(service)).toBe(1)
      expect(service.stdout).toContain(OUTAGE)
      expect(service.stdout).not.toContain(password)
      expect((await issue(service)).status).toBe(200)
      const ready = (await (await fetch(`${service.url}/readyz`)).json()) as { rateLimit: unknown }
      expect(ready.rateLimit).toEqual({ store: 'redis', shared: false })
      // Redis comes up where the URL points: the probe brings the shared count in.
      const redis = await startRedis({ port, password })
      try {
        expect(
          await waitFor(
            async () =>
              (
                (await (await fetch(`${service.url}/readyz`)).json()) as {
                  rateLimit: { shared: boolean }
                }
              ).rateLimit.shared,
            10_000,
          ),
        ).toBe(true)
        expect(service.stdout).toContain(BACK)
      } finally {
        await redis.stop()
      }
    } finally {
      service.child.kill('SIGKILL')
      await service.exited
    }
  }, 30_000)
})

test('a malformed USERSIG_REDIS_URL refuses the start, naming the variable, never the password', async () => {
  const service = await startService({
    ...env('redis//:hunter2-secret@nowhere'),
    WEB_CONCURRENCY: '1',
  })
  expect(await service.exited).toBe(1)
  expect(service.stderr).toContain('USERSIG_REDIS_URL: must be a redis:// or rediss:// URL')
  expect(service.stderr + service.stdout).not.toContain('hunter2')
})
