// WEB_CONCURRENCY: several workers on one port; a crashed worker is replaced; SIGTERM drains all.
import { randomBytes } from 'node:crypto'
import {
  issueOnFreshConnection,
  startService,
  waitForOutput,
  workerPids as workersOf,
  type Service,
} from '../helpers/process.js'

const secret = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')
let service: Service

const workerPids = () => workersOf(service.child)

const issue = () => issueOnFreshConnection(service, token)

beforeAll(async () => {
  service = await startService({
    WEB_CONCURRENCY: '2',
    USERSIG_APPS: JSON.stringify({ '1400000000': { keys: [{ id: 'k1', secret }] } }),
    USERSIG_CLIENTS: JSON.stringify([
      { id: 'c', token, apps: [1400000000], scopes: ['usersig:issue'] },
    ]),
  })
  await waitForOutput(service, (s) => s.stdout.split('"msg":"listening"').length === 3, 15_000)
})
afterAll(async () => {
  service.child.kill('SIGKILL')
  await service.exited
})

test('two workers serve, and /metrics sums them', async () => {
  expect(workerPids()).toHaveLength(2)
  const statuses = await Promise.all(Array.from({ length: 20 }, issue))
  expect(statuses.every((s) => s === 200)).toBe(true)
  const metrics = await (await fetch(`${service.url}/metrics`, { keepalive: false })).text()
  expect(metrics).toContain(
    'usersig_tickets_issued_total{kind="usersig",sdkappid="1400000000",key_id="k1"} 20',
  )
  expect(metrics).toContain('usersig_config_generation 1')
  expect(metrics).toContain('usersig_key_info{sdkappid="1400000000",key_id="k1",')
  expect(metrics).toMatch(/usersig_key_info\{[^}]*\} 1\n/)
})

test('a crashed worker is replaced while the other keeps serving', async () => {
  const [victim] = workerPids()
  process.kill(victim as number, 'SIGKILL')
  // (A connection the primary hands over in the instant before it sees the exit is lost with the
  // worker, as with any crash; from the primary's notice on, the survivor takes everything.)
  await waitForOutput(service, (s) => s.stdout.includes('worker died; starting a new one'))
  const during = await Promise.all(Array.from({ length: 10 }, issue))
  expect(during.every((s) => s === 200)).toBe(true)
  await waitForOutput(service, (s) => s.stdout.split('"msg":"listening"').length === 4, 15_000)
  expect(workerPids()).toHaveLength(2)
  expect(workerPids()).not.toContain(victim)
  expect(service.stdout).toContain('worker died; starting a new one')
})

test('SIGTERM drains every worker and the primary exits 0', async () => {
  service.child.kill('SIGTERM')
  expect(await service.exited).toBe(0)
  expect(service.stdout.split('"msg":"stopped"').length - 1).toBe(2)
})
