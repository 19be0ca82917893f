// The npm package as a user gets it: `npm pack` (its prepack builds dist/, in a folder like the
// checkout: the checkout's own dist/ is never touched), `npm install ./<tgz>`
// into an empty folder (from the warm npm cache), then the CLI through npx, the codec and the
// typed client through their package subpaths, with their types checked by tsc, the client
// against the service started from the installed package. Real processes throughout.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createUserSigKey, decodeUserSig, verifyUserSig } from '../../src/usersig/index.js'
import { linkedCheckout } from '../helpers/build.js'
import { startService, type Service } from '../helpers/process.js'

const exec = promisify(execFile)
const REPO = fileURLToPath(new URL('../../', import.meta.url))
let source: string
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }
const APP = 1400000000
const SECRET = randomBytes(32).toString('hex')
// Generous bounds: a build and an install on a busy 2-core machine.
const SLOW = { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }

let dir: string
let consumer: string
let packed: string[]

/** Runs a command in the consumer folder; a failure shows its output. */
async function inConsumer(file: string, args: string[], env: Record<string, string> = {}) {
  try {
    return await exec(file, args, { ...SLOW, cwd: consumer, env: { ...process.env, ...env } })
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string }
    throw new Error(`${file} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, {
      cause: error,
    })
  }
}

/** `npx usersig ...`; `--no` so that npx never fetches a registry package of that name. */
const usersig = (args: string[], env: Record<string, string> = {}) =>
  inConsumer('npx', ['--no', '--', 'usersig', ...args], env)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'usersig-package-'))
  // What the package holds is copied, the rest linked.
  source = linkedCheckout('usersig-pack-', {
    dist: 'none',
    copied: ['package.json', 'README.md', 'openapi.yaml', 'config', 'public'],
  })
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', dir], {
    ...SLOW,
    cwd: source,
  })
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string
    files: { path: string }[]
  }[]
  packed = (info?.files ?? []).map((file) => file.path).sort()
  consumer = join(dir, 'consumer')
  mkdirSync(consumer)
  writeFileSync(join(consumer, 'package.json'), '{ "private": true, "type": "module" }\n')
  // --ignore-scripts: the package needs none, and no dependency's script should run here.
  await inConsumer('npm', [
    'install',
    join(dir, info?.filename ?? 'missing.tgz'),
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--ignore-scripts',
  ])
}, 600_000)

afterAll(() => {
  for (const folder of [dir, source])
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true })
})

test('the tarball holds the build, the contract, the default config and the debug page, nothing else', () => {
  const allowed =
    /^(package\.json|README\.md|LICENSE|openapi\.yaml|config\/defaults\.json|public\/debug\/[\w.-]+|dist\/[\w/.-]+\.(js|d\.ts))$/
  expect(packed.filter((path) => !allowed.test(path))).toEqual([])
  for (const needed of [
    'dist/main.js',
    'dist/cli/main.js',
    'dist/usersig/index.js',
    'dist/usersig/index.d.ts',
    'dist/client/index.js',
    'dist/client/index.d.ts',
    'openapi.yaml',
    'config/defaults.json',
    'public/debug/index.html',
  ]) {
    expect(packed).toContain(needed)
  }
  // no sources, tests, source maps, example or secret files
  expect(packed.filter((path) => /^(src|test|secrets)\/|\.map$|\.env|example/.test(path))).toEqual(
    [],
  )
})

test('npx usersig: --help, --version, and a ticket signed with the installed defaults', async () => {
  const help = await usersig(['--help'])
  expect(help.stdout).toMatch(/^Usage: usersig <command> \[options\]\n/)
  expect((await usersig(['--version'])).stdout).toBe(`usersig-service ${pkg.version}\n`)

  const signed = await usersig(['sign', '--sdkappid', String(APP), '--user', 'alice'], {
    USERSIG_KEY: SECRET,
  })
  // the default expiry comes from config/defaults.json inside the package: 60 days
  expect(decodeUserSig(signed.stdout.trim())).toMatchObject({ userId: 'alice', expire: 5_184_000 })
}, 120_000)

test("import 'usersig-service/usersig' in a plain node script: sign, then verify", async () => {
  writeFileSync(
    join(consumer, 'codec.mjs'),
    `import { createUserSigKey, HINTS, signUserSig, verifyUserSig } from 'usersig-service/usersig'
const key = createUserSigKey('k1', process.env.SECRET)
const now = ${1_700_000_000}
const ticket = signUserSig({ sdkAppId: ${APP}, userId: 'alice', expire: 600, now }, key)
const valid = verifyUserSig(ticket, [key], { sdkAppId: ${APP}, userId: 'alice', now })
const other = verifyUserSig(ticket, [key], { sdkAppId: ${APP}, userId: 'bob', now })
console.log(JSON.stringify({ ticket, valid: valid.valid, keyId: valid.keyId, other: other.code, hint: HINTS[other.code] }))
`,
  )
  const { stdout } = await inConsumer(process.execPath, ['codec.mjs'], { SECRET })
  const out = JSON.parse(stdout) as Record<string, string | boolean>
  expect(out).toMatchObject({ valid: true, keyId: 'k1', other: 'ticket_identifier_mismatch' })
  expect(out.hint).toEqual(expect.stringContaining('same UserID'))
  // the packaged codec's ticket verifies with this repository's codec
  const verdict = verifyUserSig(String(out.ticket), [createUserSigKey('repo', SECRET)], {
    sdkAppId: APP,
    userId: 'alice',
    now: 1_700_000_000,
  })
  expect(verdict.valid).toBe(true)
}, 120_000)

describe('the typed client, against the service started from the installed package', () => {
  const token = randomBytes(24).toString('base64url')
  let service: Service

  beforeAll(async () => {
    service = await startService(
      {
        NODE_ENV: 'test',
        USERSIG_DEBUG_ENDPOINTS: 'true',
        USERSIG_APPS: JSON.stringify({ [APP]: { keys: [{ id: 'k1', secret: SECRET }] } }),
        USERSIG_CLIENTS: JSON.stringify([
          { id: 'backend', token, apps: [APP], scopes: ['usersig:issue', 'usersig:verify'] },
        ]),
      },
      { script: join(consumer, 'node_modules/usersig-service/dist/main.js') },
    )
    expect(service.stdout).toContain('"msg":"listening"')
  }, 120_000)
  afterAll(async () => {
    service?.child.kill('SIGKILL')
    await service?.exited
  })

  test("import 'usersig-service/client': issue a UserSig through the cache, then verify it", async () => {
    writeFileSync(
      join(consumer, 'client.mjs'),
      `import { createUserSigCache, createUserSigClient, verifyUserSig } from 'usersig-service/client'
const client = createUserSigClient({ baseUrl: process.env.BASE_URL, token: process.env.TOKEN, retry: true })
const issued = await createUserSigCache(client, { expire: 3600, marginSeconds: 60 }).get(${APP}, 'alice')
const verdict = await verifyUserSig(client, { sdkAppId: ${APP}, userId: 'alice', userSig: issued.userSig })
console.log(JSON.stringify({ issued, verdict }))
`,
    )
    const { stdout } = await inConsumer(process.execPath, ['client.mjs'], {
      BASE_URL: service.url,
      TOKEN: token,
    })
    const { issued, verdict } = JSON.parse(stdout)
    expect(issued).toMatchObject({ sdkAppId: APP, userId: 'alice', expire: 3600, keyId: 'k1' })
    expect(verdict).toMatchObject({ valid: true, code: null, keyId: 'k1' })
    const now = issued.issuedAt as number
    const own = verifyUserSig(issued.userSig, [createUserSigKey('k1', SECRET)], {
      sdkAppId: APP,
      userId: 'alice',
      now,
    })
    expect(own.valid).toBe(true)
  }, 120_000)
})

test('the subpaths are typed: tsc checks a TypeScript consumer against the installed declarations', async () => {
  writeFileSync(
    join(consumer, 'check.ts'),
    `import { createUserSigKey, signUserSig, type VerifyResult } from 'usersig-service/usersig'
import {
  createUserSigCache,
  createUserSigClient,
  UserSigApiError,
  type UserSigClient,
  type VerifyResponse,
} from 'usersig-service/client'

const key = createUserSigKey('k', 'x'.repeat(64))
export const ticket: string = signUserSig({ sdkAppId: 1, userId: 'a', expire: 60, now: 0 }, key)
// @ts-expect-error sdkAppId is a number (this line fails to compile if the types were any)
signUserSig({ sdkAppId: '1', userId: 'a', expire: 60, now: 0 }, key)
const client: UserSigClient = createUserSigClient({ baseUrl: 'http://127.0.0.1', token: 't' })
// @ts-expect-error the contract has no such path
void client.POST('/no-such-path', {})
// @ts-expect-error timeoutMs is a number of milliseconds
createUserSigClient({ baseUrl: 'http://127.0.0.1', token: 't', timeoutMs: '5000' })
export const userSig: Promise<string> = createUserSigCache(client).get(1, 'a').then((t) => t.userSig)
export const waitMs = (e: UserSigApiError): number | undefined => e.retryAfterMs
export type Checked = [VerifyResult, VerifyResponse]
`,
  )
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2024', 'DOM'],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        // the consumer has no @types/node of its own: lend it this repository's
        typeRoots: [join(REPO, 'node_modules/@types')],
        types: ['node'],
      },
      files: ['check.ts'],
    }),
  )
  await inConsumer(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', '.'])
}, 120_000)
