// One limit for the whole fleet, against the real thing: two service processes as two replicas,
// each with WEB_CONCURRENCY=2 workers, counting in one real redis-server; and one machine's
// workers counting in their primary, without Redis. A caller limited to N gets at most N (the
// issue allows 1.1 N) in a burst across all of them, at most 2 N across a window's edge, and a
// batch takes its whole size or nothing.
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { LEASE_SHARE } from '../../src/rate-limit/cluster.js'
import { APP_A, USERSIG_APPS, USERSIG_CLIENTS } from '../helpers/http.js'
import { startService, waitForOutput, type Service } from '../helpers/process.js'
import { pool } from '../helpers/reliability.js'
import { describeWithRedis, startRedis, type RedisServer } from '../helpers/redis.js'

const LIMIT = 60
/** Callers of their own per test, so that no two tests share a count. */
const callers = ['burst', 'edge', 'batch', 'machine'].map((id) => ({
  id,
  token: randomBytes(24).toString('base64url'),
  apps: [APP_A],
  scopes: ['usersig:issue'],
  rateLimitPerMinute: LIMIT,
}))
/** A limit large enough for the workers to take it in leases (src/rate-limit/cluster.ts). */
const LARGE = 2_000
callers.push({
  ...(callers[0] as (typeof callers)[number]),
  id: 'large',
  token: randomBytes(24).toString('base64url'),
  rateLimitPerMinute: LARGE,
})
const tokenOf = (id: string) => callers.find((c) => c.id === id)?.token as string

const env = (extra: Record<string, string>) => ({
  NODE_ENV: 'test',
  WEB_CONCURRENCY: '2',
  USERSIG_APPS: JSON.stringify(USERSIG_APPS),
  USERSIG_CLIENTS: JSON.stringify([...USERSIG_CLIENTS, ...callers]),
  ...extra,
})

const listening = (service: Service) => service.stdout.split('"msg":"listening"').length - 1

async function startReplica(extra: Record<string, string>): Promise<Service> {
  const service = await startService(env(extra))
  await waitForOutput(service, (s) => listening(s) === 2, 20_000)
  expect(listening(service)).toBe(2)
  return service
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A POST, by default on a fresh connection (so that the kernel may hand it to either worker). */
function post(
  service: Service,
  path: string,
  token: string,
  body: object,
  agent: Agent | false = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${service.url}${path}`,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
        )
      },
    )
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')))
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

const issue = (service: Service, caller: string) =>
  post(service, '/usersig', tokenOf(caller), { sdkAppId: APP_A, userId: 'alice' })

/** `count` issues spread over `services`, all at once; the statuses, tallied. */
async function burst(services: Service[], caller: string, count: number) {
  const answers = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      issue(services[i % services.length] as Service, caller),
    ),
  )
  const ok = answers.filter((a) => a.status === 200).length
  const limited = answers.filter((a) => a.status === 429)
  expect(ok + limited.length).toBe(count) // nothing but 200 and 429
  return { ok, limited, answers }
}

describeWithRedis('two replicas of two workers, one Redis', () => {
  let redis: RedisServer
  let replicas: Service[]
  beforeAll(async () => {
    redis = await startRedis()
    replicas = await Promise.all([
      startReplica({ USERSIG_REDIS_URL: redis.url }),
      startReplica({ USERSIG_REDIS_URL: redis.url }),
    ])
  }, 60_000)
  afterAll(async () => {
    for (const replica of replicas ?? []) replica.child.kill('SIGKILL')
    await Promise.all((replicas ?? []).map((replica) => replica.exited))
    await redis?.stop()
  })

  test(`a caller limited to ${LIMIT} gets at most 1.1 x ${LIMIT} across every worker of both, in a burst`, async () => {
    const { ok, limited } = await burst(replicas, 'burst', 3 * LIMIT)
    console.log(
      `fleet burst: ${ok} of ${3 * LIMIT} issued across 2 replicas x 2 workers, limit ${LIMIT}`,
    )
    expect(ok).toBeLessThanOrEqual(Math.floor(1.1 * LIMIT))
    expect(ok).toBeGreaterThanOrEqual(LIMIT) // one count: no worker refused what the fleet allows
    for (const answer of limited) {
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'rate_limited', status: 429 })
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0)
      expect(answer.headers['ratelimit']).toMatch(new RegExp(`^"${LIMIT}-in-1min"; r=0; t=\\d+$`))
    }
    // The count is Redis's: one key for the caller, holding what was issued.
    expect(await redis.command('GET', `usersig:rl:${LIMIT}:static:burst`)).toMatch(
      new RegExp(`^\\$\\d+\\r\\n${ok}\\r\\n`),
    )
  })

  test(`across a window's edge, at most 2 x ${LIMIT} within 60 s, and the next window starts afresh`, async () => {
    const first = await burst(replicas, 'edge', 2 * LIMIT)
    expect(first.ok).toBe(LIMIT)
    // The window ends now (its key expires), as it would after a minute.
    expect(await redis.command('PEXPIRE', `usersig:rl:${LIMIT}:static:edge`, '1')).toMatch(/^:1/)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const second = await burst(replicas, 'edge', 2 * LIMIT)
    console.log(`fleet window edge: ${first.ok} then ${second.ok} issued, limit ${LIMIT}`)
    expect(first.ok + second.ok).toBeLessThanOrEqual(2 * LIMIT)
    expect(second.ok).toBe(LIMIT)
  })

  test('a batch takes its whole size or is refused whole, counting nothing, across replicas', async () => {
    const batch = (service: Service, size: number) =>
      post(service, '/usersig/batch', tokenOf('batch'), {
        sdkAppId: APP_A,
        userIds: Array.from({ length: size }, (_, i) => `u${i}`),
      })
    const [a, b] = replicas as [Service, Service]
    expect((await batch(a, LIMIT - 10)).status).toBe(200)
    const refused = await batch(b, 20) // 10 left: refused whole
    expect(refused.status).toBe(429)
    expect(refused.headers['ratelimit']).toBe(
      `"${LIMIT}-in-1min"; r=10; t=${refused.headers['retry-after']}`,
    )
    expect((await batch(b, 10)).status).toBe(200) // the refused batch counted nothing
    expect((await issue(a, 'batch')).status).toBe(429)
  })
})

describe('one machine, two workers, no Redis: the workers count together in their primary', () => {
  let machine: Service
  beforeAll(async () => {
    machine = await startReplica({})
  }, 30_000)
  afterAll(async () => {
    machine.child.kill('SIGKILL')
    await machine.exited
  })

  test(`a caller limited to ${LIMIT} gets ${LIMIT} across both workers`, async () => {
    const { ok } = await burst([machine], 'machine', 3 * LIMIT)
    expect(ok).toBe(LIMIT)
    const ready = (await (await fetch(`${machine.url}/readyz`)).json()) as { rateLimit: unknown }
    expect(ready.rateLimit).toEqual({ store: 'cluster', shared: true })
    expect((await issue(machine, 'burst')).status).toBe(200) // another caller, another count
  })

  test(`a limit of ${LARGE}, taken in leases: never more, and at most the leases' ${LEASE_SHARE * 100} % less`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 })
    const statuses = await pool(Array.from({ length: LARGE + 300 }), 16, () =>
      post(machine, '/usersig', tokenOf('large'), { sdkAppId: APP_A, userId: 'alice' }, agent).then(
        (answer) => answer.status,
      ),
    )
    agent.destroy()
    const ok = statuses.filter((status) => status === 200).length
    console.log(`machine leases: ${ok} of ${LARGE + 300} issued, limit ${LARGE}`)
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([])
    expect(ok).toBeLessThanOrEqual(LARGE)
    expect(ok).toBeGreaterThanOrEqual(LARGE * (1 - LEASE_SHARE))
  })
})
