// /metrics under a flood of scrapes: two workers issue tickets at a fixed rate, alone, then beside
// 400 authenticated scrapes a second, then beside 400 anonymous ones; prints the issue p99 of
// each. Run: npm run bench:scrapes (builds first; about 30 s). The last line is one JSON object.
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { freePort, shippedNodeFlags, waitForPort } from './support.js'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const SDKAPPID = 1400000000
const TOKEN = randomBytes(24).toString('base64url')
const METRICS_TOKEN = randomBytes(32).toString('base64url')
const SECONDS = Number(process.env.SCRAPES_SECONDS ?? 8)

const port = await freePort()
const child = fork(MAIN, [], {
  execArgv: shippedNodeFlags(),
  env: {
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    WEB_CONCURRENCY: '2',
    USERSIG_METRICS_TOKEN: METRICS_TOKEN,
    USERSIG_APPS: JSON.stringify({
      [SDKAPPID]: { keys: [{ id: 'bench', secret: randomBytes(32).toString('hex') }] },
    }),
    USERSIG_CLIENTS: JSON.stringify([
      { id: 'bench', token: TOKEN, apps: [SDKAPPID], scopes: ['usersig:issue'] },
    ]),
  },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
})
await waitForPort(port, 'the service')
await new Promise((resolve) => setTimeout(resolve, 1_000)) // both workers listening

const base = `http://127.0.0.1:${port}`
const issue = () =>
  autocannon({
    url: `${base}/usersig`,
    method: 'POST',
    connections: 10,
    overallRate: 2_000,
    duration: SECONDS,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ sdkAppId: SDKAPPID, userId: 'alice' }),
  })
const scrape = (authenticated: boolean) =>
  autocannon({
    url: `${base}/metrics`,
    connections: 10,
    overallRate: 400,
    duration: SECONDS,
    headers: authenticated ? { authorization: `Bearer ${METRICS_TOKEN}` } : {},
  })

const alone = await issue()
const [besideScrapes, scrapes] = await Promise.all([issue(), scrape(true)])
const [besideAnonymous, anonymous] = await Promise.all([issue(), scrape(false)])
child.kill('SIGTERM')

const report = {
  issueP99Ms: {
    alone: alone.latency.p99,
    besideScrapes: besideScrapes.latency.p99,
    besideAnonymousScrapes: besideAnonymous.latency.p99,
  },
  scrapes: { answered: scrapes['2xx'], p99Ms: scrapes.latency.p99 },
  anonymousScrapes: { refused: anonymous.non2xx },
  errors: alone.errors + besideScrapes.errors + besideAnonymous.errors,
}
console.log(
  `issue p99 at 2000/s on 2 workers: ${report.issueP99Ms.alone} ms alone, ${report.issueP99Ms.besideScrapes} ms beside 400 scrapes/s (${report.scrapes.answered} answered, p99 ${report.scrapes.p99Ms} ms), ${report.issueP99Ms.besideAnonymousScrapes} ms beside 400 anonymous scrapes/s (${report.anonymousScrapes.refused} refused)`,
)
console.log(JSON.stringify(report))
