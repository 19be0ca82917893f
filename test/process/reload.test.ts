// Reload without restart: a Kubernetes-style Secret update (symlink swap), a rejected config, SIGHUP.
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startService, waitForOutput, type Service } from '../helpers/process.js'

const APP = 1400000000
const oldSecret = randomBytes(32).toString('hex')
const newSecret = randomBytes(32).toString('hex')
const tokenA = randomBytes(24).toString('base64url')
const tokenB = randomBytes(24).toString('base64url')
const scopes = ['usersig:issue', 'usersig:verify']

let dir: string
let version = 0
/** Writes a new Secret version and swaps `..data` to it atomically, as the kubelet does. */
function publish(apps: unknown, clients: unknown): void {
  version += 1
  const folder = join(dir, `..v${version}`)
  mkdirSync(folder)
  writeFileSync(join(folder, 'apps.json'), JSON.stringify(apps))
  writeFileSync(join(folder, 'clients.json'), JSON.stringify(clients))
  symlinkSync(`..v${version}`, join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
}

let service: Service
let signedByOld = ''
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'usersig-secret-'))
  publish({ [APP]: { keys: [{ id: 'old', secret: oldSecret }] } }, [
    { id: 'a', token: tokenA, apps: [APP], scopes },
    { id: 'b', token: tokenB, apps: [APP], scopes },
  ])
  symlinkSync('..data/apps.json', join(dir, 'apps.json'))
  symlinkSync('..data/clients.json', join(dir, 'clients.json'))
  service = await startService({
    NODE_ENV: 'test',
    USERSIG_APPS_FILE: join(dir, 'apps.json'),
    USERSIG_CLIENTS_FILE: join(dir, 'clients.json'),
  })
})
afterAll(async () => {
  service.child.kill('SIGKILL')
  await service.exited
})

const call = async (path: string, token: string, body: object) => {
  const res = await fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}
const ready = async () =>
  (await (await fetch(`${service.url}/readyz`)).json()) as Record<string, unknown>
async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
const metric = async (line: string) =>
  (await (await fetch(`${service.url}/metrics`)).text()).includes(line)

test('a Secret update swaps keys and callers atomically; requests in flight all succeed', async () => {
  expect(await ready()).toMatchObject({ generation: 1, keyIds: ['old'] })
  const oldTicket = await call('/usersig', tokenA, { sdkAppId: APP, userId: 'alice' })
  expect(oldTicket.body.keyId).toBe('old')
  signedByOld = oldTicket.body.userSig as string

  // traffic throughout the swap
  let running = true
  const statuses: number[] = []
  const verdicts: unknown[] = []
  const traffic = (async () => {
    while (running) {
      statuses.push((await call('/usersig', tokenA, { sdkAppId: APP, userId: 'bob' })).status)
      // a ticket of the old key keeps verifying throughout the rotation
      const verdict = await call('/usersig/verify', tokenA, {
        sdkAppId: APP,
        userId: 'alice',
        userSig: signedByOld,
      })
      verdicts.push(verdict.body.valid)
    }
  })()
  publish(
    {
      [APP]: {
        keys: [
          { id: 'new', secret: newSecret },
          { id: 'old', secret: oldSecret },
        ],
      },
    },
    [{ id: 'a', token: tokenA, apps: [APP], scopes }], // client b removed
  )
  await until(async () => (await ready()).generation === 2)
  await new Promise((resolve) => setTimeout(resolve, 200))
  running = false
  await traffic
  expect(statuses.length).toBeGreaterThan(10)
  expect(statuses.every((status) => status === 200)).toBe(true)
  expect(verdicts.every((valid) => valid === true)).toBe(true)

  expect(await ready()).toMatchObject({
    generation: 2,
    keyIds: ['new', 'old'],
    appKeys: [{ primaryKeyId: 'new', keyIds: ['new', 'old'] }],
  })
  expect((await call('/usersig', tokenA, { sdkAppId: APP, userId: 'alice' })).body.keyId).toBe(
    'new',
  )
  // the old key still verifies its tickets; the removed caller is refused
  const verdict = await call('/usersig/verify', tokenA, {
    sdkAppId: APP,
    userId: 'alice',
    userSig: oldTicket.body.userSig,
  })
  expect(verdict.body).toMatchObject({ valid: true, keyId: 'old' })
  expect((await call('/usersig', tokenB, { sdkAppId: APP, userId: 'alice' })).status).toBe(401)
  expect(await metric('usersig_config_generation 2')).toBe(true)
  expect(await metric('usersig_key_info{sdkappid="1400000000",key_id="new",')).toBe(true)
  expect(service.stdout).toContain('"msg":"configuration reloaded"')
  expect(service.stdout).not.toContain(newSecret)
})

test('an invalid new config is rejected whole: the old one keeps serving, the failure is logged and counted', async () => {
  publish({ [APP]: { keys: [{ id: 'broken', secret: 'short' }] } }, [
    { id: 'a', token: tokenA, apps: [APP], scopes },
  ])
  await waitForOutput(service, (s) => s.stdout.includes('configuration reload rejected'))
  expect(await ready()).toMatchObject({ generation: 2, keyIds: ['new', 'old'] })
  expect((await call('/usersig', tokenA, { sdkAppId: APP, userId: 'alice' })).body.keyId).toBe(
    'new',
  )
  expect(await metric('usersig_config_reloads_total{outcome="rejected"} 1')).toBe(true)
  expect(service.stdout).toContain(
    'key \\"broken\\": secret must be a string of at least 32 characters',
  )
})

test('the old key is removed after its tickets expire: its tickets then fail with 70009', async () => {
  const signedByNew = await call('/usersig', tokenA, { sdkAppId: APP, userId: 'alice' })
  publish({ [APP]: { keys: [{ id: 'new', secret: newSecret }] } }, [
    { id: 'a', token: tokenA, apps: [APP], scopes },
  ])
  await until(async () => (await ready()).generation === 3)
  const verify = (userSig: unknown) =>
    call('/usersig/verify', tokenA, { sdkAppId: APP, userId: 'alice', userSig })
  expect((await verify(signedByNew.body.userSig)).body).toMatchObject({ valid: true, keyId: 'new' })
  expect((await verify(signedByOld)).body).toMatchObject({
    valid: false,
    code: 'ticket_signature_invalid',
    tencentErrorCode: 70009,
  })
})

test('SIGHUP re-reads the files; unchanged files keep the generation', async () => {
  service.child.kill('SIGHUP')
  await waitForOutput(service, (s) => s.stdout.includes('"reason":"SIGHUP"'))
  expect(await ready()).toMatchObject({ generation: 3 })
  expect(service.stdout).toMatch(/"reason":"SIGHUP".*"msg":"configuration unchanged"/)
})

test('a truncating write (an empty clients file) is rejected: every static caller keeps working', async () => {
  const before = await ready()
  // In place, through the symlink, as an editor or `>` would; a reload lands mid-write.
  writeFileSync(join(dir, 'clients.json'), '')
  service.child.kill('SIGHUP')
  await waitForOutput(service, (s) => s.stdout.includes('is empty; an empty file is never read'))
  expect(service.stdout).toMatch(
    /"problems":\["USERSIG_CLIENTS_FILE: [^"]*clients.json is empty; an empty file is never read as \\"nothing configured\\""\]/,
  )
  expect(await ready()).toMatchObject({ generation: before.generation })
  expect((await call('/usersig', tokenA, { sdkAppId: APP, userId: 'alice' })).status).toBe(200)
  // The write completes: the next change is read as usual.
  publish({ [APP]: { keys: [{ id: 'new', secret: newSecret }] } }, [
    { id: 'a', token: tokenA, apps: [APP], scopes },
    { id: 'b', token: tokenB, apps: [APP], scopes },
  ])
  await until(async () => (await ready()).generation === (before.generation as number) + 1)
  expect((await call('/usersig', tokenB, { sdkAppId: APP, userId: 'alice' })).status).toBe(200)
})
