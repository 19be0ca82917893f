// Reload at start-up: the files are watched before they are first read, and the reloader's
// baseline is that first read, so a change made at any moment while the service starts is in
// force once it is ready, without a SIGHUP (the ~150 ms between a read and the watchers used to
// lose it, and SIGHUP then said "configuration unchanged"). Where in the start-up the changes
// land varies from run to run; test/unit/reload.test.ts pins the moment that used to be lost.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startService, waitForOutput, type Service } from '../helpers/process.js'

const APP = 1400000000
const token = randomBytes(24).toString('base64url')
let dir: string
let service: Service | undefined

afterEach(async () => {
  service?.child.kill('SIGKILL')
  await service?.exited
  rmSync(dir, { recursive: true, force: true })
})

/** Replaces apps.json atomically (write beside, rename), as the docs tell operators to. */
function writeApps(keyId: string): void {
  const next = join(dir, 'apps.json.next')
  writeFileSync(
    next,
    JSON.stringify({ [APP]: { keys: [{ id: keyId, secret: randomBytes(32).toString('hex') }] } }),
  )
  renameSync(next, join(dir, 'apps.json'))
}

const readyz = async () =>
  (await (await fetch(`${service?.url}/readyz`)).json()) as { generation: number; keyIds: string[] }

test('changes made all through start-up: the last one is in force, without a SIGHUP', async () => {
  dir = mkdtempSync(join(tmpdir(), 'usersig-start-'))
  writeApps('v0')
  writeFileSync(
    join(dir, 'clients.json'),
    JSON.stringify([{ id: 'a', token, apps: [APP], scopes: ['usersig:issue'] }]),
  )
  const starting = startService({
    NODE_ENV: 'test',
    USERSIG_APPS_FILE: join(dir, 'apps.json'),
    USERSIG_CLIENTS_FILE: join(dir, 'clients.json'),
  })
  // A new version every 20 ms from the spawn until the service listens: one of them lands
  // wherever the start-up is, the first read and the watchers included.
  let version = 0
  let started = false
  void starting.then(() => (started = true))
  while (!started) {
    writeApps(`v${++version}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  service = await starting
  const last = `v${version}`
  const deadline = Date.now() + 10_000
  while ((await readyz()).keyIds[0] !== last && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50))
  expect((await readyz()).keyIds).toEqual([last])

  // And SIGHUP agrees: what is in force is what the file says.
  const { generation } = await readyz()
  service.child.kill('SIGHUP')
  await waitForOutput(service, (s) => s.stdout.includes('"reason":"SIGHUP"'))
  expect(service.stdout).toMatch(/"reason":"SIGHUP".*"msg":"configuration unchanged"/)
  expect(await readyz()).toMatchObject({ generation, keyIds: [last] })
})
