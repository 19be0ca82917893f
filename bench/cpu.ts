// Server CPU per request, by what the service is asked to do: the built service (dist/main.js)
// under the same POST /usersig load, once per variant of its settings, the variants measured in
// turn, round after round. CPU time is read from /proc/<pid>/stat (user + system), so the figure
// is the server's own, whatever the load generator on the same machine costs; the median of the
// rounds is printed. Run: npm run bench:cpu (builds first; ~3 minutes).
//
// The variants switch off, one at a time, what only configuration can switch off: the audit log
// line per ticket (LOG_LEVEL=warn) and the rate limit (USERSIG_RATE_LIMIT_PER_MINUTE=0); one
// switches tracing on, a span per request exported to a local sink (what a span costs). Beside
// bench/ceiling-server.mjs (node:http, the codec, a token compare), they show where a request's
// CPU goes beyond the ceiling.
//
// BENCH_CPU_BASELINE=<folder> adds the service as shipped from another checkout (an earlier
// commit, with its dist/ built), measured in the same rounds: what a change costs, free of the
// drift between two runs on a shared machine.
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { freePort, otlpSink, shippedNodeFlags, waitForPort } from './support.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SECONDS = 4
const SDKAPPID = 1400000000
const SECRET = randomBytes(32).toString('hex')
const TOKEN = randomBytes(24).toString('base64url')
const SINK = await otlpSink()

const serviceEnv = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'info',
  USERSIG_RATE_LIMIT_PER_MINUTE: '1000000000',
  USERSIG_METRICS_TOKEN: randomBytes(32).toString('base64url'),
  USERSIG_APPS: JSON.stringify({ [SDKAPPID]: { keys: [{ id: 'bench', secret: SECRET }] } }),
  USERSIG_CLIENTS: JSON.stringify([
    { id: 'bench', token: TOKEN, apps: [SDKAPPID], scopes: ['usersig:issue'] },
  ]),
}

interface Variant {
  readonly name: string
  readonly script: string
  readonly env: Record<string, string>
  /** Node flags instead of the image's. */
  readonly flags?: readonly string[]
}

const tracingOn = {
  ...serviceEnv,
  OTEL_EXPORTER_OTLP_ENDPOINT: SINK.url,
  OTEL_TRACES_SAMPLER: 'always_on',
}

const VARIANTS: readonly Variant[] = [
  { name: 'service as shipped', script: 'dist/main.js', env: serviceEnv },
  {
    name: 'service, no audit line (LOG_LEVEL=warn)',
    script: 'dist/main.js',
    env: { ...serviceEnv, LOG_LEVEL: 'warn' },
  },
  {
    name: 'service, no rate limit',
    script: 'dist/main.js',
    env: { ...serviceEnv, USERSIG_RATE_LIMIT_PER_MINUTE: '0' },
  },
  {
    name: 'service, neither',
    script: 'dist/main.js',
    env: { ...serviceEnv, LOG_LEVEL: 'warn', USERSIG_RATE_LIMIT_PER_MINUTE: '0' },
  },
  { name: 'service, tracing on (every request sampled)', script: 'dist/main.js', env: tracingOn },
  // The spans waiting in the batch queue survive young-generation collections: a larger young
  // generation than the image's 4 MiB semi-space keeps most of that cost away.
  {
    name: 'service, tracing on, --max-semi-space-size=32',
    script: 'dist/main.js',
    env: tracingOn,
    flags: ['--max-semi-space-size=32'],
  },
  {
    name: 'ceiling (node:http + codec + token compare)',
    script: 'bench/ceiling-server.mjs',
    env: { BENCH_SDKAPPID: String(SDKAPPID), BENCH_KEY: SECRET, BENCH_TOKEN: TOKEN },
  },
  ...(process.env.BENCH_CPU_BASELINE === undefined
    ? []
    : [
        {
          name: 'baseline service as shipped (BENCH_CPU_BASELINE)',
          script: resolve(process.env.BENCH_CPU_BASELINE, 'dist/main.js'),
          env: serviceEnv,
        },
      ]),
]

/** User plus system CPU of a process, in microseconds. */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux)
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

async function load(port: number, seconds: number) {
  return autocannon({
    url: `http://127.0.0.1:${port}/usersig`,
    method: 'POST',
    connections: 50,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ sdkAppId: SDKAPPID, userId: 'alice', expire: 86400 }),
  })
}

async function main(): Promise<void> {
  const running: { name: string; child: ChildProcess; port: number; samples: number[] }[] = []
  for (const variant of VARIANTS) {
    const port = await freePort()
    const child = fork(resolve(ROOT, variant.script), [], {
      execArgv: [...(variant.flags ?? shippedNodeFlags())],
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...variant.env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    await waitForPort(port, variant.name)
    await load(port, 2) // warm-up
    running.push({ name: variant.name, child, port, samples: [] })
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const run of running) {
      const before = cpuMicros(run.child.pid as number)
      const result = await load(run.port, SECONDS)
      if (result.non2xx > 0) throw new Error(`${run.name}: ${result.non2xx} answers were not 200`)
      run.samples.push((cpuMicros(run.child.pid as number) - before) / result.requests.total)
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`)
  }
  for (const run of running) run.child.kill('SIGTERM')
  SINK.close()
  if (SINK.exports() === 0) throw new Error('the traced variant exported no span')
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0
  console.log(
    `\nnode ${process.version}; server CPU per POST /usersig, median of ${ROUNDS} rounds:`,
  )
  const figures: Record<string, number> = {}
  for (const run of running) {
    figures[run.name] = Math.round(median(run.samples))
    console.log(
      `  ${run.name.padEnd(46)} ${String(figures[run.name]).padStart(4)} µs   (rounds: ${run.samples.map((s) => s.toFixed(0)).join(' ')})`,
    )
  }
  console.log(JSON.stringify({ cpuMicrosPerRequest: figures }))
}

await main()
