// Workers cannot take each other down, against the real process with WEB_CONCURRENCY=2:
// - workers killed under a load of fresh connections: every request is answered (a reset counts
//   as an answer; a client waiting 5 s for nothing does not), and the primary never holds a
//   connection, then or after;
// - a rejected configuration file plus a dead worker: the replacement starts from the policy the
//   running workers serve, and tickets are still issued 10 s later.
import { randomBytes } from 'node:crypto'
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { APP_A, USERSIG_APPS } from '../helpers/http.js'
import {
  issueOnce,
  startService,
  waitForOutput,
  workerPids,
  type Service,
} from '../helpers/process.js'
import { scaled } from '../helpers/stress.js'

const token = randomBytes(24).toString('base64url')
const clients = JSON.stringify([
  { id: 'c', token, apps: [APP_A], scopes: ['usersig:issue'], rateLimitPerMinute: 1_000_000 },
])
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const listening = (service: Service) => service.stdout.split('"msg":"listening"').length - 1

/** One issue on a fresh connection with a 5 s client timeout: the status, or what went wrong. */
const issue = async (service: Service) => (await issueOnce(service, token)).status

/** TCP connections (not listening sockets) to `port` that process `pid` holds (Linux). */
function connectionsHeld(pid: number, port: number): string[] {
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return [] // gone
  }
  const inodes = new Set<string>()
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`)
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1]
      if (inode !== undefined) inodes.add(inode)
    } catch {
      // closed meanwhile
    }
  }
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  const held: string[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const [local, , state, , , , , , , inode] = fields.slice(1)
      // 0A is LISTEN: the listening socket is not a connection.
      if (local?.endsWith(hexPort) && state !== '0A' && inode !== undefined && inodes.has(inode))
        held.push(`${local} state ${state}`)
    }
  }
  return held
}

describe('workers killed under a load of fresh connections', () => {
  const KILLS = scaled(2, 20)
  let service: Service
  let port: number
  beforeAll(async () => {
    service = await startService({
      NODE_ENV: 'test',
      WEB_CONCURRENCY: '2',
      USERSIG_APPS: JSON.stringify(USERSIG_APPS),
      USERSIG_CLIENTS: clients,
    })
    port = Number(new URL(service.url).port)
    await waitForOutput(service, (s) => listening(s) === 2, 20_000)
  }, 30_000)
  afterAll(async () => {
    service.child.kill('SIGKILL')
    await service.exited
  })

  test(`${KILLS} kills: every request answered within 5 s, no connection ever held by the primary`, async () => {
    const outcomes: (number | string)[] = []
    const primary = service.child.pid as number
    const inPrimary: string[] = []
    let running = true
    const load = Array.from({ length: 6 }, async () => {
      while (running) {
        outcomes.push(await issue(service))
        inPrimary.push(...connectionsHeld(primary, port))
      }
    })
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(300)
      const [victim] = workerPids(service.child)
      process.kill(victim as number, 'SIGKILL')
      await waitForOutput(service, (s) => listening(s) === 3 + kill, 20_000)
      expect(listening(service)).toBe(3 + kill)
    }
    await sleep(300)
    running = false
    await Promise.all(load)
    await sleep(200)
    inPrimary.push(...connectionsHeld(primary, port))

    const tally: Record<string, number> = {}
    for (const outcome of outcomes) tally[String(outcome)] = (tally[String(outcome)] ?? 0) + 1
    console.log(
      `worker deaths: ${KILLS} kills under load, ${outcomes.length} requests: ${JSON.stringify(tally)}; connections seen in the primary: ${inPrimary.length}`,
    )
    expect(tally.unanswered ?? 0).toBe(0)
    // Only answers, or a connection its worker took down with it.
    expect(
      Object.keys(tally).filter(
        (k) => !['200', 'ECONNRESET', 'reset mid-answer', 'ECONNREFUSED'].includes(k),
      ),
    ).toEqual([])
    expect(tally['200']).toBeGreaterThan(outcomes.length * 0.9)
    expect(inPrimary).toEqual([])
    expect(service.child.exitCode).toBeNull()
  }, 180_000)
})

describe('a rejected configuration file, then a dead worker', () => {
  let folder: string
  let service: Service
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'usersig-badfile-'))
    writeFileSync(join(folder, 'apps.json'), JSON.stringify(USERSIG_APPS), { mode: 0o600 })
    writeFileSync(join(folder, 'clients.json'), clients, { mode: 0o600 })
    service = await startService({
      NODE_ENV: 'test',
      WEB_CONCURRENCY: '2',
      USERSIG_APPS_FILE: join(folder, 'apps.json'),
      USERSIG_CLIENTS_FILE: join(folder, 'clients.json'),
    })
    await waitForOutput(service, (s) => listening(s) === 2, 20_000)
  }, 30_000)
  afterAll(async () => {
    service.child.kill('SIGKILL')
    await service.exited
    rmSync(folder, { recursive: true, force: true })
  })

  test('the replacement serves the last good policy; tickets are still issued 10 s later', async () => {
    writeFileSync(join(folder, 'clients.json'), '{ garbage')
    await waitForOutput(service, (s) => s.stdout.includes('configuration reload rejected'), 10_000)
    expect(service.stdout).toContain('configuration reload rejected')
    expect(await issue(service)).toBe(200)

    const [victim] = workerPids(service.child)
    process.kill(victim as number, 'SIGKILL')
    await waitForOutput(service, (s) => listening(s) === 3, 20_000)
    expect(listening(service)).toBe(3)
    expect(await issue(service)).toBe(200)
    expect(await issue(service)).toBe(200)

    await sleep(10_000)
    expect(service.child.exitCode).toBeNull()
    expect(workerPids(service.child)).toHaveLength(2)
    for (let i = 0; i < 4; i++) expect(await issue(service)).toBe(200)
    // One replacement, and it did not die: no crash loop.
    expect(service.stdout.split('worker died; starting a new one').length - 1).toBe(1)
    expect(service.stdout).not.toContain('"level":60')
  }, 60_000)
})
