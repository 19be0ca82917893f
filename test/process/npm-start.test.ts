// `npm start` as a person or a process manager runs it. npm runs a script through `sh -c` and
// forwards SIGTERM and SIGINT to that child only (npm 10 and 11: @npmcli/run-script's signal
// manager), and dies of SIGHUP, which it does not forward. So the build runs in `prestart` and
// `start` execs node: npm's one child is the service itself.
//
// npm runs in folders like the checkout (test/helpers/build.ts), never in the checkout itself: the
// plain `npm start` builds its own dist/, the others run the tests' build.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { linkedCheckout } from '../helpers/build.js'
import { startNpm, waitForOutput, type Service } from '../helpers/process.js'

const secret = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')
const env = {
  NODE_ENV: 'production',
  USERSIG_METRICS_TOKEN: randomBytes(32).toString('base64url'),
  SHUTDOWN_DELAY_MS: '100',
  USERSIG_APPS: JSON.stringify({ '1400000000': { keys: [{ id: 'k1', secret }] } }),
  USERSIG_CLIENTS: JSON.stringify([
    { id: 'c', token, apps: [1400000000], scopes: ['usersig:issue'] },
  ]),
}
/** Already built: `--ignore-scripts` skips prestart only, not start itself. */
const START_BUILT = ['start', '--ignore-scripts']
const folders = { built: '', fresh: '' }
beforeAll(() => {
  folders.built = linkedCheckout('usersig-npm-start-', { dist: 'link' })
  folders.fresh = linkedCheckout('usersig-npm-start-', { dist: 'none' })
})
afterAll(() => {
  for (const folder of Object.values(folders)) rmSync(folder, { recursive: true, force: true })
})

let npm: Service | undefined
let servicePid: number | undefined
afterEach(async () => {
  for (const pid of [npm?.child.pid, servicePid])
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL')
  if (npm !== undefined) await npm.exited
  npm = undefined
  servicePid = undefined
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** npm's children: exactly one, node running dist/main.js (no shell in between). */
function theService(parent: Service): number {
  const children = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent.child.pid)], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line)?.slice(1) ?? [])
  expect(children.map(([, args]) => args)).toEqual(['node --max-semi-space-size=4 dist/main.js'])
  return Number(children[0]?.[0])
}

async function issue(service: Service): Promise<number> {
  const res = await fetch(`${service.url}/usersig`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sdkAppId: 1400000000, userId: 'alice' }),
  })
  return res.status
}

/** Waits (bounded) until the process is gone. */
async function gone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  return !alive(pid)
}

test.each([
  ['SIGTERM', ['start']],
  ['SIGINT', START_BUILT],
] as const)(
  '%s to npm reaches the service: it drains and exits 0, and so does npm',
  async (signal, args) => {
    npm = await startNpm([...args], env, args.length === 1 ? folders.fresh : folders.built)
    expect(npm.stdout).toContain('"msg":"listening"')
    // plain `npm start` builds first
    if (args.length === 1) expect(npm.stdout).toContain('> usersig-service@0.1.0 prestart')
    servicePid = theService(npm)
    expect(await issue(npm)).toBe(200)

    npm.child.kill(signal)
    expect(await npm.exited).toBe(0)
    expect(npm.stdout).toContain(`"signal":"${signal}","delayMs":100,"msg":"shutting down"`)
    expect(npm.stdout).toContain('"msg":"stopped"')
    expect(await gone(servicePid)).toBe(true)
  },
  120_000, // plain `npm start` builds first (prestart: tsc)
)

test('SIGHUP to the service npm runs reloads it, and it keeps serving', async () => {
  npm = await startNpm(START_BUILT, env, folders.built)
  servicePid = theService(npm)
  process.kill(servicePid, 'SIGHUP')
  await waitForOutput(npm, (s) => s.stdout.includes('"msg":"configuration unchanged"'))
  expect(npm.stdout).toContain('"reason":"SIGHUP"')
  expect(await issue(npm)).toBe(200)
  expect(alive(npm.child.pid as number)).toBe(true)

  npm.child.kill('SIGTERM')
  expect(await npm.exited).toBe(0)
  expect(await gone(servicePid)).toBe(true)
})

// npm dies of SIGHUP (exit 129) without forwarding it: the service cannot reload through npm, but
// it notices its npm parent is gone and stops (src/npm-parent.ts) rather than run on orphaned.
test('SIGHUP to npm itself: the service does not outlive npm', async () => {
  npm = await startNpm(START_BUILT, env, folders.built)
  servicePid = theService(npm)
  npm.child.kill('SIGHUP')
  expect(await npm.exited).toBe('SIGHUP')
  expect(await gone(servicePid, 5_000)).toBe(true)
})
