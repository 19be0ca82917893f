// The real process: start-up refusals, the start line and its warnings, a port that is taken,
// the development default (one per folder), graceful shutdown.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, startService, waitForOutput, type Service } from '../helpers/process.js'

const secret = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')
const configured = {
  USERSIG_APPS: JSON.stringify({ '1400000000': { keys: [{ id: 'k1', secret }] } }),
  USERSIG_CLIENTS: JSON.stringify([
    { id: 'backend', token, apps: [1400000000], scopes: ['usersig:issue'] },
  ]),
}

let running: Service | undefined
afterEach(async () => {
  if (running === undefined) return
  running.child.kill('SIGKILL')
  await running.exited
  running = undefined
})

test('production without apps and clients refuses to start, quickly, naming the variables', async () => {
  const started = Date.now()
  const service = await startService({ NODE_ENV: 'production' })
  expect(await service.exited).toBe(1)
  expect(Date.now() - started).toBeLessThan(5000) // includes Node's start-up; the check itself is instant
  expect(service.stderr).toBe(
    'usersig-service: Invalid configuration:\n' +
      '  - USERSIG_METRICS_TOKEN: /metrics would be public in production: set USERSIG_METRICS_TOKEN (or _FILE) to require a bearer token, METRICS_PORT to serve it on a listener of its own, or USERSIG_METRICS_PUBLIC=true to make it public deliberately\n' +
      '  - USERSIG_APPS: not set (nor USERSIG_APPS_FILE); configure at least one SDKAppID\n' +
      '  - USERSIG_CLIENTS: not set (nor USERSIG_CLIENTS_FILE); configure at least one caller (or JWT callers)\n',
  )
})

test('a bad key is refused at start with a message that names it and hides it', async () => {
  const service = await startService({
    ...configured,
    USERSIG_APPS: JSON.stringify({
      '1400000000': { keys: [{ id: 'k1', secret: secret.slice(0, 20) }] },
    }),
  })
  expect(await service.exited).toBe(1)
  expect(service.stderr).toContain(
    'USERSIG_APPS: app "1400000000": key "k1": secret must be a string of at least 32 characters',
  )
  expect(service.stderr + service.stdout).not.toContain(secret.slice(0, 20))
})

test('an empty apps file refuses the start, naming the variable and the file', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'usersig-empty-'))
  const apps = join(folder, 'apps.json')
  writeFileSync(apps, '')
  const alone = await startService({
    USERSIG_CLIENTS: configured.USERSIG_CLIENTS,
    USERSIG_APPS_FILE: apps,
  })
  expect(await alone.exited).toBe(1)
  expect(alone.stderr).toBe(
    'usersig-service: Invalid configuration:\n' +
      `  - USERSIG_APPS_FILE: ${apps} is empty; an empty file is never read as "nothing configured"\n`,
  )
  rmSync(folder, { recursive: true, force: true })
})

test('production: the start line says what runs, and each warning is logged once with its code', async () => {
  running = await startService({
    ...configured,
    NODE_ENV: 'production',
    USERSIG_DEBUG_ENDPOINTS: 'true',
    USERSIG_METRICS_PUBLIC: 'true',
  })
  const lines = running.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  expect(lines.find((line) => line.msg === 'listening')).toMatchObject({
    pid: running.child.pid,
    version: pkg.version,
    node: process.version,
    production: true,
    workers: 1,
    generation: 1,
    debugEndpoints: true,
    apps: [{ sdkAppId: 1400000000, primaryKeyId: 'k1' }],
  })
  await waitForOutput(running, (s) => s.stdout.includes('"warning":"plaintext_token"'))
  const warnings = running.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { warning?: string; level: number })
    .filter((line) => line.warning !== undefined)
  // Node 20 reached its end of life on 2026-04-30: on it, the start warns so too.
  const endOfLife = process.versions.node.startsWith('20.') && Date.now() >= Date.UTC(2026, 3, 30)
  expect(warnings.map((line) => [line.warning, line.level])).toEqual([
    ['metrics_public', 40],
    ...(endOfLife ? [['node_end_of_life', 40]] : []),
    ['debug_endpoints_on', 40],
    ['plaintext_token', 40],
  ])
  expect(running.stdout + running.stderr).not.toContain(secret)
  expect(running.stdout + running.stderr).not.toContain(token)
})

test('METRICS_PORT: /metrics on a listener of its own, 404 on PORT; both close on SIGTERM', async () => {
  const metricsPort = await freePort()
  running = await startService({
    ...configured,
    NODE_ENV: 'production',
    METRICS_PORT: String(metricsPort),
  })
  await waitForOutput(running, (s) => s.stdout.includes('"msg":"metrics listening"'))
  const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  expect(scraped.status).toBe(200)
  expect(await scraped.text()).toContain('usersig_key_info{sdkappid="1400000000",key_id="k1"')
  expect((await fetch(`${running.url}/metrics`)).status).toBe(404)
  expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(404)
  expect((await fetch(`${running.url}/healthz`)).status).toBe(200)
  expect(running.stdout).not.toContain('"warning":"metrics_public"')
  running.child.kill('SIGTERM')
  expect(await running.exited).toBe(0)
  running = undefined
})

describe('a listen address that is taken: one line naming PORT and HOST, exit 1', () => {
  let blocker: ReturnType<typeof createServer>
  let port: number
  beforeAll(async () => {
    blocker = createServer().listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    port = (blocker.address() as { port: number }).port
  })
  afterAll(() => blocker.close())

  test.each([
    ['one process', '1'],
    ['two workers', '2'],
  ])('%s', async (_, workers) => {
    const service = await startService({
      ...configured,
      PORT: String(port),
      WEB_CONCURRENCY: workers,
    })
    expect(await service.exited).toBe(1)
    expect(service.stderr).toBe(
      `usersig-service: cannot listen on 127.0.0.1:${port} (EADDRINUSE): the address is in use by another process; set PORT or HOST\n`,
    )
  })
})

test('with nothing configured, npm start runs a development default with a loud warning', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'usersig-dev-'))
  const tokenFile = join(folder, '.usersig-dev-token')
  running = await startService({}, { cwd: folder })
  await waitForOutput(running, (s) => s.stderr.includes('API docs:'))
  const banner = running.stderr
  expect(banner).toContain('DEVELOPMENT DEFAULT')
  const devToken = /demo caller: {3}dev, token (\S+)/.exec(banner)?.[1]
  expect(devToken).toBeDefined()
  const res = await fetch(`${running.url}/usersig`, {
    method: 'POST',
    headers: { authorization: `Bearer ${devToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sdkAppId: 1400000000, userId: 'alice' }),
  })
  expect(res.status).toBe(200)
  expect(await res.json()).toMatchObject({ sdkAppId: 1400000000, userId: 'alice', keyId: 'dev' })
  // the token is printed once, on the terminal, never in the structured log
  expect(running.stdout).not.toContain(devToken)
  // and left in an owner-only file in the folder it runs in, for a second terminal
  expect(readFileSync(tokenFile, 'utf8')).toBe(`${devToken}\n`)
  expect(statSync(tokenFile).mode & 0o777).toBe(0o600)
  expect(running.stderr).toContain('token file:    ./.usersig-dev-token')
  // which goes when the service stops
  running.child.kill('SIGTERM')
  expect(await running.exited).toBe(0)
  expect(existsSync(tokenFile)).toBe(false)
  rmSync(folder, { recursive: true, force: true })
})

test('two development instances in one folder: the second refuses in one line, and the first keeps its token and its file', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'usersig-dev-'))
  const tokenFile = join(folder, '.usersig-dev-token')
  try {
    running = await startService({}, { cwd: folder })
    const first = readFileSync(tokenFile, 'utf8')
    const issue = (service: Service) =>
      fetch(`${service.url}/usersig`, {
        method: 'POST',
        headers: { authorization: `Bearer ${first.trim()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sdkAppId: 1400000000, userId: 'alice' }),
      })
    expect((await issue(running)).status).toBe(200)

    const second = await startService({}, { cwd: folder })
    expect(await second.exited).toBe(1)
    expect(second.stderr).toBe(
      'usersig-service: ./.usersig-dev-token exists: another development instance serves from this folder; stop it, or start this one from another folder (if none runs, one was killed before it could remove the file: delete it)\n',
    )
    // it never listened, and its stopping took nothing of the first one's
    expect(second.stdout).not.toContain('"msg":"listening"')
    expect(readFileSync(tokenFile, 'utf8')).toBe(first)
    expect((await issue(running)).status).toBe(200)

    running.child.kill('SIGTERM')
    expect(await running.exited).toBe(0)
    running = undefined
    expect(existsSync(tokenFile)).toBe(false)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('SIGTERM: readiness turns 503, an in-flight request completes, the process exits 0', async () => {
  running = await startService({ ...configured, SHUTDOWN_DELAY_MS: '700' })
  const { port } = new URL(running.url)
  // An in-flight request: headers and half the body sent before the signal.
  const body = JSON.stringify({ sdkAppId: 1400000000, userId: 'inflight', expire: 3600 })
  const socket = connect(Number(port), '127.0.0.1')
  let response = ''
  socket.on('data', (chunk) => (response += chunk.toString()))
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(
    `POST /usersig HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
  )
  await new Promise((resolve) => setTimeout(resolve, 100))

  running.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 150))
  const ready = await fetch(`${running.url}/readyz`)
  expect(ready.status).toBe(503)
  // The drain delay, in whole seconds: by then this process no longer listens.
  expect(ready.headers.get('retry-after')).toBe('1')
  expect(await ready.json()).toEqual({
    status: 'shutting_down',
    rateLimit: { store: 'memory', shared: true },
    generation: 1,
    apps: 1,
    keys: 1,
    keyIds: ['k1'],
    appKeys: [{ primaryKeyId: 'k1', keyIds: ['k1'] }],
  })

  socket.write(body.slice(10))
  const exit = await running.exited
  expect(response).toMatch(/^HTTP\/1\.1 200 OK/)
  expect(response).toContain('"userId":"inflight"')
  expect(exit).toBe(0)
  expect(running.stdout).toContain('"msg":"stopped"')
  socket.destroy()
})
