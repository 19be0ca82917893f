// HTTP benchmark: the service as shipped against a naive baseline, a ceiling (bare node:http and
// the codec) and an Express hello world, in one run, interleaved, on 127.0.0.1 only; the service
// exporting a span per request (tracing on, every request sampled, to a local sink); and the
// shared rate-limit counts: two workers counting together in their primary against two workers
// counting each on its own, and the Redis count (a redis-server started here) against the in-memory one. Run:
// npm run bench (builds first). Bounded: ~7 minutes.
// Prints req/s, p50, p99 and RSS per case and the ratios to the naive baseline; the last line is
// one JSON object.
import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { freePort, otlpSink, processRssMb, shippedNodeFlags, waitForPort } from './support.js'
import { startBenchRedis, type BenchRedis } from './redis.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DURATION_S = Number(process.env.BENCH_DURATION ?? 5)
// Five rounds: on a shared machine one round's ratios can stray ~15 % from the median.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const WARMUP_S = 2
const CONNECTIONS = 50
const BATCH_SIZE = 100
const SDKAPPID = 1400000000
const SECRET = randomBytes(32).toString('hex')
const TOKEN = randomBytes(24).toString('base64url')

const SHIPPED_FLAGS = shippedNodeFlags()
/** Where the traced case's spans go: read and discarded by this process. */
const SINK = await otlpSink()

interface Case {
  readonly name: string
  readonly script: string
  /** Node flags: the shipped ones for the service, none for the baselines. */
  readonly nodeFlags: readonly string[]
  readonly env: Record<string, string>
  readonly auth: boolean
  /** Only POST /usersig is measured (the cases that compare rate-limit counts). */
  readonly issueOnly?: boolean
}

/** The service's environment: a limit so high it never refuses, but counted. */
const serviceEnv = (
  workers: number,
  { scope, redisUrl }: { scope?: string; redisUrl?: string } = {},
): Record<string, string> => ({
  NODE_ENV: 'production',
  USERSIG_METRICS_TOKEN: randomBytes(32).toString('base64url'),
  LOG_LEVEL: 'info', // the audit line per ticket is part of the cost
  USERSIG_DEBUG_ENDPOINTS: 'true',
  WEB_CONCURRENCY: String(workers),
  USERSIG_RATE_LIMIT_PER_MINUTE: '1000000000',
  ...(scope === undefined ? {} : { USERSIG_RATE_LIMIT_SCOPE: scope }),
  ...(redisUrl === undefined ? {} : { USERSIG_REDIS_URL: redisUrl }),
  USERSIG_APPS: JSON.stringify({ [SDKAPPID]: { keys: [{ id: 'bench', secret: SECRET }] } }),
  USERSIG_CLIENTS: JSON.stringify([
    { id: 'bench', token: TOKEN, apps: [SDKAPPID], scopes: ['usersig:issue', 'usersig:verify'] },
  ]),
})

const BASE_CASES: readonly Case[] = [
  {
    name: 'service',
    script: 'dist/main.js',
    nodeFlags: SHIPPED_FLAGS,
    env: serviceEnv(1),
    auth: true,
  },
  // The shipped service with tracing on, measured right after it (the pair makes the ratio the
  // target is about): a span for every request (always_on samples each one, whatever the caller
  // sent), batched and exported over OTLP/protobuf, the default protocol.
  {
    name: 'service, tracing on',
    script: 'dist/main.js',
    nodeFlags: SHIPPED_FLAGS,
    env: {
      ...serviceEnv(1),
      OTEL_EXPORTER_OTLP_ENDPOINT: SINK.url,
      OTEL_TRACES_SAMPLER: 'always_on',
    },
    auth: true,
  },
  { name: 'naive', script: 'bench/naive-server.mjs', nodeFlags: [], env: {}, auth: false },
  // Same flags as the service: the ratio is the cost of the front door, nothing else.
  {
    name: 'ceiling',
    script: 'bench/ceiling-server.mjs',
    nodeFlags: SHIPPED_FLAGS,
    env: {},
    auth: true,
  },
  { name: 'hello', script: 'bench/hello-server.mjs', nodeFlags: [], env: {}, auth: false },
  {
    name: 'service x2 workers',
    script: 'dist/main.js',
    nodeFlags: SHIPPED_FLAGS,
    env: serviceEnv(2),
    auth: true,
  },
  {
    name: 'service x2 workers, counting apart',
    script: 'dist/main.js',
    nodeFlags: SHIPPED_FLAGS,
    env: serviceEnv(2, { scope: 'process' }),
    auth: true,
    issueOnly: true,
  },
]

/** The Redis count, where redis-server is installed (scripts/install-redis.sh). */
const redisCase = (redis: BenchRedis): Case => ({
  name: 'service, Redis limit',
  script: 'dist/main.js',
  nodeFlags: SHIPPED_FLAGS,
  env: serviceEnv(1, { redisUrl: redis.url }),
  auth: true,
  issueOnly: true,
})

interface Running {
  readonly child: ChildProcess
  readonly port: number
}

async function start(c: Case): Promise<Running> {
  const port = await freePort()
  const child = fork(`${ROOT}/${c.script}`, [], {
    // Not this script's `--import tsx`: every case runs as plain `node`, the service as shipped.
    execArgv: [...c.nodeFlags],
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      BENCH_SDKAPPID: String(SDKAPPID),
      BENCH_KEY: SECRET,
      BENCH_TOKEN: TOKEN,
      ...c.env,
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  await waitForPort(port, c.name)
  return { child, port }
}

/** Resident memory of the process and its children (cluster workers), in MB. */
function rssMb(pid: number): number {
  const pids = [pid]
  try {
    pids.push(
      ...execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
        .split('\n')
        .map((l) => Number(l.trim()))
        .filter((p) => p > 0),
    )
  } catch {
    // no children
  }
  return Math.round(pids.reduce((mb, p) => mb + processRssMb(p), 0))
}

async function post(
  port: number,
  path: string,
  body: unknown,
  auth: boolean,
): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}),
    },
    body: JSON.stringify(body),
  })
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as Record<string, unknown>
}

interface Sample {
  reqPerSec: number
  p50: number
  p99: number
  rssMb: number
  errors: number
}

async function load(
  run: Running,
  path: string,
  body: unknown,
  auth: boolean,
  duration = DURATION_S,
): Promise<Sample> {
  let peak = 0
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(run.child.pid as number))), 500)
  const result = await autocannon({
    url: `http://127.0.0.1:${run.port}${path}`,
    method: 'POST',
    connections: CONNECTIONS,
    duration,
    headers: {
      'content-type': 'application/json',
      ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}),
    },
    body: JSON.stringify(body),
  })
  clearInterval(sampler)
  return {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rssMb: Math.max(peak, rssMb(run.child.pid as number)),
    errors: result.errors + result.timeouts + result.non2xx,
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

async function main(): Promise<void> {
  const redis = await startBenchRedis()
  if (redis === null)
    process.stderr.write('no redis-server (scripts/install-redis.sh): the Redis case is left out\n')
  const CASES = [...BASE_CASES, ...(redis === null ? [] : [redisCase(redis)])]
  const running = new Map<string, Running>()
  for (const c of CASES) running.set(c.name, await start(c))
  const verifyBodies = new Map<string, unknown>()
  for (const c of CASES) {
    const run = running.get(c.name) as Running
    const issued = await post(
      run.port,
      '/usersig',
      { sdkAppId: SDKAPPID, userId: 'alice', expire: 86400 },
      c.auth,
    )
    verifyBodies.set(c.name, { sdkAppId: SDKAPPID, userId: 'alice', userSig: issued.userSig })
  }

  const samples = new Map<string, Sample[]>()
  const record = (key: string, sample: Sample) =>
    samples.set(key, [...(samples.get(key) ?? []), sample])
  const issueBody = { sdkAppId: SDKAPPID, userId: 'alice', expire: 86400 }
  const batchBody = {
    sdkAppId: SDKAPPID,
    expire: 86400,
    userIds: Array.from({ length: BATCH_SIZE }, (_, i) => `user_${i}`),
  }
  // Warm-up, not recorded: every case's JIT settles before the first measured round.
  for (const c of CASES) {
    const run = running.get(c.name) as Running
    await load(run, '/usersig', issueBody, c.auth, WARMUP_S)
    if (c.issueOnly) continue
    await load(run, '/usersig/verify', verifyBodies.get(c.name), c.auth, WARMUP_S)
    if (c.name === 'service') await load(run, '/usersig/batch', batchBody, true, WARMUP_S)
  }
  const serviceRss = () => rssMb((running.get('service') as Running).child.pid as number)
  const rssAtStart = serviceRss()
  // After each round: repeated runs must not make the process grow.
  const rssAfterRound: number[] = []

  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CASES) {
      const run = running.get(c.name) as Running
      record(`${c.name} POST /usersig`, await load(run, '/usersig', issueBody, c.auth))
      if (c.issueOnly) continue
      record(
        `${c.name} POST /usersig/verify`,
        await load(run, '/usersig/verify', verifyBodies.get(c.name), c.auth),
      )
      if (c.name === 'service')
        record(
          `${c.name} POST /usersig/batch (${BATCH_SIZE})`,
          await load(run, '/usersig/batch', batchBody, true),
        )
    }
    rssAfterRound.push(serviceRss())
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`)
  }
  const rssAtEnd = rssAfterRound.at(-1) ?? rssAtStart
  for (const run of running.values()) run.child.kill('SIGTERM')
  SINK.close()
  if (SINK.exports() === 0) throw new Error('the traced case exported no span')
  await redis?.stop()

  const summary: Record<string, Sample> = {}
  for (const [key, list] of samples) {
    summary[key] = {
      reqPerSec: Math.round(median(list.map((s) => s.reqPerSec))),
      p50: median(list.map((s) => s.p50)),
      p99: median(list.map((s) => s.p99)),
      rssMb: Math.max(...list.map((s) => s.rssMb)),
      errors: list.reduce((n, s) => n + s.errors, 0),
    }
  }
  // Each ratio is taken within a round, between runs minutes apart at most, then the median of
  // the rounds: a shared machine's speed drifts, and ratios of medians taken across the whole run
  // would mix different moments.
  const perRound = (key: string, field: 'reqPerSec' | 'p99') =>
    (samples.get(key) as Sample[]).map((s) => s[field])
  const spreads: Record<string, [number, number]> = {}
  const ratioOf = (name: string, a: number[], b: number[]) => {
    const values = a.map((x, i) => x / (b[i] as number))
    const round2 = (x: number) => Math.round(x * 100) / 100
    spreads[name] = [round2(Math.min(...values)), round2(Math.max(...values))]
    return round2(median(values))
  }
  const issue = perRound('service POST /usersig', 'reqPerSec')
  const ratios = {
    issueVsNaive: ratioOf('issueVsNaive', issue, perRound('naive POST /usersig', 'reqPerSec')),
    ceilingRatio: ratioOf('ceilingRatio', issue, perRound('ceiling POST /usersig', 'reqPerSec')),
    issueP99VsNaive: ratioOf(
      'issueP99VsNaive',
      perRound('service POST /usersig', 'p99'),
      perRound('naive POST /usersig', 'p99'),
    ),
    verifyVsIssue: ratioOf(
      'verifyVsIssue',
      perRound('service POST /usersig/verify', 'reqPerSec'),
      issue,
    ),
    verifyVsNaiveVerify: ratioOf(
      'verifyVsNaiveVerify',
      perRound('service POST /usersig/verify', 'reqPerSec'),
      perRound('naive POST /usersig/verify', 'reqPerSec'),
    ),
    helloVsNaive: ratioOf(
      'helloVsNaive',
      perRound('hello POST /usersig', 'reqPerSec'),
      perRound('naive POST /usersig', 'reqPerSec'),
    ),
    // Throughput with a span per request against the same service without export (the target: at
    // least 0.75).
    tracingOnVsOff: ratioOf(
      'tracingOnVsOff',
      perRound('service, tracing on POST /usersig', 'reqPerSec'),
      issue,
    ),
    tracingOnVsOffVerify: ratioOf(
      'tracingOnVsOffVerify',
      perRound('service, tracing on POST /usersig/verify', 'reqPerSec'),
      perRound('service POST /usersig/verify', 'reqPerSec'),
    ),
    clusterScaling: ratioOf(
      'clusterScaling',
      perRound('service x2 workers POST /usersig', 'reqPerSec'),
      issue,
    ),
    clusterSharedCountVsApart: ratioOf(
      'clusterSharedCountVsApart',
      perRound('service x2 workers POST /usersig', 'reqPerSec'),
      perRound('service x2 workers, counting apart POST /usersig', 'reqPerSec'),
    ),
    ...(redis === null
      ? {}
      : {
          redisVsMemory: ratioOf(
            'redisVsMemory',
            perRound('service, Redis limit POST /usersig', 'reqPerSec'),
            issue,
          ),
          redisP99VsMemory: ratioOf(
            'redisP99VsMemory',
            perRound('service, Redis limit POST /usersig', 'p99'),
            perRound('service POST /usersig', 'p99'),
          ),
        }),
    batchTicketsPerSecVsIssue: ratioOf(
      'batchTicketsPerSecVsIssue',
      perRound(`service POST /usersig/batch (${BATCH_SIZE})`, 'reqPerSec').map(
        (r) => r * BATCH_SIZE,
      ),
      issue,
    ),
  }

  console.log(
    `\nnode ${process.version}, ${CONNECTIONS} connections, ${WARMUP_S} s warm-up then ${DURATION_S} s x ${ROUNDS} interleaved rounds per case (median)`,
  )
  console.log(
    'case'.padEnd(44),
    'req/s'.padStart(8),
    'p50 ms'.padStart(7),
    'p99 ms'.padStart(7),
    'RSS MB'.padStart(7),
    'errors'.padStart(7),
  )
  for (const [key, s] of Object.entries(summary)) {
    console.log(
      key.padEnd(44),
      String(s.reqPerSec).padStart(8),
      String(s.p50).padStart(7),
      String(s.p99).padStart(7),
      String(s.rssMb).padStart(7),
      String(s.errors).padStart(7),
    )
  }
  console.log(
    `service RSS: ${rssAtStart} MB after warm-up; after each round ${rssAfterRound.join(', ')} MB; ` +
      `peak under load ${Math.max(
        ...Object.entries(summary)
          .filter(([k]) => k.startsWith('service POST'))
          .map(([, s]) => s.rssMb),
      )} MB`,
  )
  console.log('ratios, each taken within a round (median; lowest-highest round):')
  for (const [name, value] of Object.entries(ratios)) {
    const [low, high] = spreads[name] as [number, number]
    console.log(`  ${name.padEnd(28)} ${value}x (${low}-${high})`)
  }
  console.log(
    JSON.stringify({
      ratios,
      rss: { startMb: rssAtStart, afterRoundMb: rssAfterRound, endMb: rssAtEnd },
      cases: summary,
    }),
  )
}

await main()
