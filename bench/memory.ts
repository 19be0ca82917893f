// Peak memory of one service process as a Kubernetes pod runs it: the image's node flags,
// production, apps and callers from files, /metrics on METRICS_PORT (scraped every second
// meanwhile), once over HTTP and once over HTTPS (an openssl-made certificate). autocannon drives
// each at saturation (50 connections): POST /usersig, then POST /usersig/batch of 100 users.
// The figure is the kernel's high-water mark of the process's resident memory, VmHWM in
// /proc/<pid>/status, read at the end: a peak no sampling can miss. The pod's memory request must
// be at least this (deploy/k8s/base/deployment.yaml; docs/performance.md has the figures).
// Run: npm run bench:memory (builds first). MEMORY_DURATION: seconds per load (default 20).
import { execFileSync, fork } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { freePort, shippedNodeFlags, waitForPort } from './support.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DURATION_S = Number(process.env.MEMORY_DURATION ?? 20)
const CONNECTIONS = 50
const SDKAPPID = 1400000000
const TOKEN = randomBytes(24).toString('base64url')

const dir = mkdtempSync(join(tmpdir(), 'usersig-memory-'))
writeFileSync(
  join(dir, 'apps.json'),
  JSON.stringify({
    [SDKAPPID]: { keys: [{ id: 'bench', secret: randomBytes(32).toString('hex') }] },
  }),
  { mode: 0o600 },
)
writeFileSync(
  join(dir, 'clients.json'),
  JSON.stringify([
    {
      id: 'bench',
      tokenSha256: createHash('sha256').update(TOKEN).digest('hex'),
      apps: [SDKAPPID],
      scopes: ['usersig:issue'],
      rateLimitPerMinute: 1_000_000_000,
    },
  ]),
  { mode: 0o600 },
)
execFileSync(
  'openssl',
  [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '1'],
    ...['-subj', '/CN=localhost'],
  ],
  { stdio: 'ignore' },
)

/** Peak and current resident memory of a process, in MiB (VmHWM and VmRSS). */
function memory(pid: number): { peakMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { peakMiB: Math.round(kib('VmHWM') / 1024), rssMiB: Math.round(kib('VmRSS') / 1024) }
}

async function measure(scheme: 'http' | 'https') {
  const [port, metricsPort] = [await freePort(), await freePort()]
  const child = fork(`${ROOT}/dist/main.js`, [], {
    execArgv: shippedNodeFlags(),
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      WEB_CONCURRENCY: '1',
      LOG_LEVEL: 'info', // an audit line per ticket, as in production
      USERSIG_APPS_FILE: join(dir, 'apps.json'),
      USERSIG_CLIENTS_FILE: join(dir, 'clients.json'),
      ...(scheme === 'https'
        ? {
            USERSIG_TLS_CERT_FILE: join(dir, 'tls.crt'),
            USERSIG_TLS_KEY_FILE: join(dir, 'tls.key'),
          }
        : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  await waitForPort(port, `service (${scheme})`)
  const pid = child.pid as number
  const afterStart = memory(pid)
  // Prometheus, every second.
  const scraper = setInterval(() => {
    fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
      (res) => res.text(),
      () => '',
    )
  }, 1000)
  const load = async (path: string, body: unknown) => {
    const result = await autocannon({
      url: `${scheme}://127.0.0.1:${port}${path}`,
      method: 'POST',
      connections: CONNECTIONS,
      duration: DURATION_S,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    })
    const errors = result.errors + result.timeouts + result.non2xx
    if (errors > 0) throw new Error(`${scheme} ${path}: ${errors} failed requests`)
    return Math.round(result.requests.average)
  }
  const issuePerSecond = await load('/usersig', { sdkAppId: SDKAPPID, userId: 'alice' })
  const userIds = Array.from({ length: 100 }, (_, i) => `user_${i}`)
  const batchPerSecond = await load('/usersig/batch', { sdkAppId: SDKAPPID, userIds })
  clearInterval(scraper)
  const end = memory(pid)
  child.kill('SIGKILL')
  return {
    scheme,
    startMiB: afterStart.rssMiB,
    peakMiB: end.peakMiB,
    endMiB: end.rssMiB,
    issuePerSecond,
    batchPerSecond,
  }
}

try {
  const results = []
  for (const scheme of ['http', 'https'] as const) {
    const result = await measure(scheme)
    console.log(
      `${scheme.padEnd(5)} after start ${result.startMiB} MiB, peak (VmHWM) ${result.peakMiB} MiB, at the end ${result.endMiB} MiB; ` +
        `${result.issuePerSecond} issue req/s, ${result.batchPerSecond} batch req/s (${DURATION_S} s each)`,
    )
    results.push(result)
  }
  console.log(
    JSON.stringify({
      node: process.version,
      durationSeconds: DURATION_S,
      connections: CONNECTIONS,
      peakMiB: Math.max(...results.map((r) => r.peakMiB)),
      results,
    }),
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
