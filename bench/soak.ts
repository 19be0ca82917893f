// Soak: holds a fixed request rate against the real service on 127.0.0.1 for a set time, then
// reports errors, RSS growth and the event loop's p99 delay. Run: npm run soak (SOAK_SECONDS=600
// for the documented 10-minute soak; SOAK_RATE requests per second, default 500; SOAK_SAMPLES=1
// also prints the RSS read every second, in MB; SOAK_WARMUP_SECONDS of flat-out load first, default 3).
// The last line is one JSON object; the process exits 1 if a target is missed.
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { freePort, processRssMb, shippedNodeFlags, waitForPort } from './support.js'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 30)
const RATE = Number(process.env.SOAK_RATE ?? 500)
const WARMUP_SECONDS = Number(process.env.SOAK_WARMUP_SECONDS ?? 3)
const MAIN = process.env.SOAK_MAIN ?? fileURLToPath(new URL('../dist/main.js', import.meta.url))
const SDKAPPID = 1400000000
const token = randomBytes(24).toString('base64url')
const metricsToken = randomBytes(32).toString('base64url')

const rssMb = processRssMb

async function main(): Promise<void> {
  const port = await freePort()
  const child = fork(MAIN, [], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      USERSIG_METRICS_TOKEN: metricsToken,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      USERSIG_DEBUG_ENDPOINTS: 'true',
      USERSIG_APPS: JSON.stringify({
        [SDKAPPID]: { keys: [{ id: 'soak', secret: randomBytes(32).toString('hex') }] },
      }),
      USERSIG_CLIENTS: JSON.stringify([
        {
          id: 'soak',
          token,
          apps: [SDKAPPID],
          scopes: ['usersig:issue', 'usersig:verify'],
          rateLimitPerMinute: 1_000_000,
        },
      ]),
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: shippedNodeFlags(),
  })
  await waitForPort(port, 'the service')
  const url = `http://127.0.0.1:${port}`
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

  // Warm up flat out, so the JIT and the heap are past their first full collections (at the
  // soak's own rate that takes ~25 s, during which RSS climbs and then drops back); then measure.
  await autocannon({
    url: `${url}/usersig`,
    method: 'POST',
    headers,
    body: JSON.stringify({ sdkAppId: SDKAPPID, userId: 'warm' }),
    duration: WARMUP_SECONDS,
    connections: 10,
  })
  // RSS once a second. One reading lands anywhere on the GC sawtooth, so growth compares the
  // median of the first quarter of the run with the median of the last quarter.
  const samples = [rssMb(child.pid as number)]
  const sampler = setInterval(() => samples.push(rssMb(child.pid as number)), 1000)

  const result = await autocannon({
    url,
    connections: 20,
    duration: SECONDS,
    overallRate: RATE,
    requests: [
      {
        method: 'POST',
        path: '/usersig',
        headers,
        body: JSON.stringify({ sdkAppId: SDKAPPID, userId: 'soak', expire: 86400 }),
      },
    ],
  })
  clearInterval(sampler)
  samples.push(rssMb(child.pid as number))
  const quarter = Math.max(1, Math.floor(samples.length / 4))
  const rssStart = median(samples.slice(0, quarter))
  const rssEnd = median(samples.slice(-quarter))
  const rssPeak = Math.max(...samples)
  const metrics = await (
    await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
  ).text()
  const lagP99 = Number(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(metrics)?.[1] ?? NaN)
  child.kill('SIGTERM')

  const errors = result.errors + result.timeouts + result.non2xx
  const growth = (rssEnd - rssStart) / rssStart
  const report = {
    seconds: SECONDS,
    targetRate: RATE,
    achievedRate: Math.round(result.requests.average),
    requests: result.requests.total,
    errors,
    latencyP99Ms: result.latency.p99,
    rssStartMb: Math.round(rssStart),
    rssEndMb: Math.round(rssEnd),
    rssPeakMb: Math.round(rssPeak),
    rssGrowthPercent: Math.round(growth * 1000) / 10,
    eventLoopDelayP99Ms: Math.round(lagP99 * 1e4) / 10,
  }
  console.log(
    `soak: ${report.requests} requests in ${SECONDS} s at ${report.achievedRate}/s (target ${RATE}), ` +
      `${errors} errors, p99 ${report.latencyP99Ms} ms, RSS (median of first and last quarter) ` +
      `${report.rssStartMb} -> ${report.rssEndMb} MB ` +
      `(${report.rssGrowthPercent}%, peak ${report.rssPeakMb}), event-loop delay p99 ${report.eventLoopDelayP99Ms} ms`,
  )
  if (process.env.SOAK_SAMPLES) console.log(samples.map(Math.round).join(' '))
  console.log(JSON.stringify(report))
  if (errors > 0 || growth >= 0.1) process.exitCode = 1
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[sorted.length >> 1] as number
}

await main()
