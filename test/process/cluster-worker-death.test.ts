// WEB_CONCURRENCY=2, real processes: a worker stalled (SIGSTOP) or killed (SIGKILL) while a scrape
// is collecting every worker's metrics must never take the primary down. The scrape answers
// within a bound with the workers that answered, and says how many did not.
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { COLLECT_DEADLINE_MS } from '../../src/cluster/metrics.js'
import { METRICS_CACHE_MS } from '../../src/metrics.js'
import { scaled } from '../helpers/stress.js'
import {
  connectionOwner,
  issueOnFreshConnection,
  startService,
  waitForOutput,
  workerPids,
  type Service,
} from '../helpers/process.js'

const secret = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')
/** A scrape with a dead or stalled worker answers within this (the deadline, plus a busy machine). */
const SCRAPE_BOUND_MS = COLLECT_DEADLINE_MS + 8_000
/** Twice in `npm test` (one of each kind below), twenty times in `npm run test:stress`. */
const KILLS = scaled(2, 20)
let service: Service
let port: number

interface Answer {
  status: number
  body: string
  ms: number
  localPort: number | undefined
}

/** A GET, on `agent`'s kept-alive connection or (without one) a fresh connection. */
const get = (path: string, agent: Agent | false = false) =>
  new Promise<Answer>((resolve, reject) => {
    const started = Date.now()
    let localPort: number | undefined
    const req = request(`${service.url}${path}`, { agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started, localPort }),
      )
    })
    req.on('socket', (socket) => {
      localPort = socket.localPort
      socket.once('connect', () => (localPort = socket.localPort))
    })
    req.setTimeout(SCRAPE_BOUND_MS + 5_000, () => req.destroy(new Error('no answer')))
    req.on('error', reject)
    req.end()
  })

const issue = () => issueOnFreshConnection(service, token)

const listening = () => service.stdout.split('"msg":"listening"').length - 1
const deaths = () => service.stdout.split('worker died; starting a new one').length - 1
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const gauge = (body: string, name: string) =>
  Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(body)?.[1] ?? NaN)

/** Both workers listening (after `kills` replacements), and a kept-alive connection to one of them. */
async function pinnedConnection(kills: number) {
  await waitForOutput(service, () => listening() >= 2 + kills, 20_000)
  expect(listening()).toBe(2 + kills)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const first = await get('/healthz', agent)
  expect(first.status).toBe(200)
  const pids = workerPids(service.child)
  expect(pids).toHaveLength(2)
  const served = connectionOwner(port, first.localPort as number, pids)
  if (served === undefined) throw new Error('no worker holds the kept-alive connection')
  const other = pids.find((pid) => pid !== served) as number
  return { agent, served, other, localPort: first.localPort }
}

/** The primary is up, and a fresh connection is served: health, a ticket, a scrape in time. */
async function stillServing() {
  expect(service.child.exitCode).toBeNull()
  expect(service.child.signalCode).toBeNull()
  expect((await get('/healthz')).status).toBe(200)
  expect(await issue()).toBe(200)
  await sleep(METRICS_CACHE_MS) // a fresh collection, not the last one's cached text
  const scrape = await get('/metrics')
  expect(scrape.status).toBe(200)
  expect(scrape.ms).toBeLessThan(SCRAPE_BOUND_MS)
  return scrape
}

beforeAll(async () => {
  service = await startService({
    WEB_CONCURRENCY: '2',
    USERSIG_APPS: JSON.stringify({ '1400000000': { keys: [{ id: 'k1', secret }] } }),
    USERSIG_CLIENTS: JSON.stringify([
      { id: 'c', token, apps: [1400000000], scopes: ['usersig:issue'] },
    ]),
  })
  port = Number(new URL(service.url).port)
  await waitForOutput(service, () => listening() === 2, 15_000)
})
afterAll(async () => {
  for (const pid of service.child.exitCode === null ? workerPids(service.child) : [])
    process.kill(pid, 'SIGCONT')
  service.child.kill('SIGKILL')
  await service.exited
})

test('a stalled worker: the scrape answers at the deadline with the other, and says one is missing', async () => {
  const { agent, served, other, localPort } = await pinnedConnection(0)
  const healthy = await get('/metrics', agent)
  expect(healthy.status).toBe(200)
  expect(gauge(healthy.body, 'usersig_cluster_workers_answered')).toBe(2)
  expect(gauge(healthy.body, 'usersig_cluster_workers_unanswered')).toBe(0)

  process.kill(other, 'SIGSTOP')
  await sleep(METRICS_CACHE_MS) // past the last collection's cache
  try {
    const partial = await get('/metrics', agent)
    expect(partial.localPort).toBe(localPort) // still the worker that was asked, not the stalled one
    expect(partial.status).toBe(200)
    expect(gauge(partial.body, 'usersig_cluster_workers_answered')).toBe(1)
    expect(gauge(partial.body, 'usersig_cluster_workers_unanswered')).toBe(1)
    expect(partial.body).toContain('usersig_config_generation 1')
    // It waited for the stalled worker until the deadline, and no longer.
    expect(partial.ms).toBeGreaterThanOrEqual(COLLECT_DEADLINE_MS - 50)
    expect(partial.ms).toBeLessThan(SCRAPE_BOUND_MS)
    console.log(`scrape with a stalled worker: ${partial.ms} ms (served by ${served})`)
  } finally {
    process.kill(other, 'SIGCONT')
    agent.destroy()
  }
  // The stalled worker's late answer to that scrape is ignored; both answer the next one.
  const whole = await stillServing()
  expect(gauge(whole.body, 'usersig_cluster_workers_answered')).toBe(2)
})

test(`${KILLS} workers killed during scrapes: the primary stays up and keeps serving`, async () => {
  const times = { stalledKilled: [] as number[], askerKilled: [] as number[] }
  for (let kill = 0; kill < KILLS; kill++) {
    const { agent, served, other } = await pinnedConnection(kill)
    process.kill(other, 'SIGSTOP')
    await sleep(METRICS_CACHE_MS) // past the last collection's cache
    const scrape = get('/metrics', agent).then(
      (answer) => answer,
      (error: NodeJS.ErrnoException) => ({ error: error.code ?? error.message }),
    )
    await sleep(150) // the scrape is collecting: the stalled worker has not answered
    if (kill % 2 === 0) {
      // The stalled worker dies: the scrape goes ahead with the one that answered.
      process.kill(other, 'SIGKILL')
      const answer = await scrape
      if ('error' in answer) throw new Error(answer.error)
      expect(answer.status).toBe(200)
      expect(answer.ms).toBeLessThan(SCRAPE_BOUND_MS)
      expect(gauge(answer.body, 'usersig_cluster_workers_answered')).toBe(1)
      expect(gauge(answer.body, 'usersig_cluster_workers_unanswered')).toBe(1)
      times.stalledKilled.push(answer.ms)
    } else {
      // The worker that asked dies while the primary waits for the stalled one, which then wakes
      // and answers late: the primary's reply has nowhere to go (the reported crash).
      process.kill(served, 'SIGKILL')
      process.kill(other, 'SIGCONT')
      expect(await scrape).toEqual({ error: 'ECONNRESET' }) // its connection died with its worker
    }
    agent.destroy()
    // Once the primary has seen the death, no new connection is handed to the dead worker (one
    // handed over in the instant before is lost with it, as with any crash).
    await waitForOutput(service, () => deaths() === kill + 1, 10_000)
    const next = await stillServing()
    if (kill % 2 === 1) times.askerKilled.push(next.ms)
  }
  expect(deaths()).toBe(KILLS)
  expect(service.stdout).not.toContain('"level":60')
  expect(service.stderr).toBe('')
  const summary = (ms: number[]) =>
    `median ${[...ms].sort((a, b) => a - b)[ms.length >> 1]} ms, max ${Math.max(...ms)} ms`
  console.log(
    [
      `${KILLS} kills during scrapes, primary up throughout:`,
      `  stalled worker killed 150 ms into a scrape: the scrape answered in ${summary(times.stalledKilled)}`,
      `  scraped worker killed 150 ms into a scrape: the next scrape answered in ${summary(times.askerKilled)}`,
    ].join('\n'),
  )
}, 120_000)
