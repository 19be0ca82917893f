// Production without Docker, step by step as docs/deploy-without-docker.md says: the repository's
// files, `npm ci`, `npm run build`, `npm prune --omit=dev`, then node alone with NODE_ENV=production
// and a real configuration in files. Slow (a full npm ci, ~15 s, and a build), so it runs under
// `npm run test:image` with the image replay, not under `npm test`.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createUserSigKey, verifyUserSig } from '../../src/usersig/index.js'
import { registryEnv } from '../helpers/build.js'
import { freePort } from '../helpers/process.js'
import { testIf } from '../helpers/skip.js'
import { listPackages } from './image.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
}
/** The page whose steps this runs: each command below must be written there as run here. */
const DOC = readFileSync(join(REPO, 'docs/deploy-without-docker.md'), 'utf8')
const COMMAND_LINE = ['node', '--max-semi-space-size=4', 'dist/main.js'] as const
const enabled = process.env.USERSIG_TEST_IMAGE === '1'

/** The repository as a clone has it (tracked files, and new ones not ignored), nothing built. */
function copyRepository(to: string): void {
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: REPO,
      encoding: 'utf8',
    },
  )
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(REPO, file)))
  for (const file of files) {
    mkdirSync(join(to, file, '..'), { recursive: true })
    cpSync(join(REPO, file), join(to, file))
  }
}

testIf(
  enabled,
  'a full npm ci (~15 s, and a build): runs under `npm run test:image` (USERSIG_TEST_IMAGE=1)',
)(
  'install, build, prune dev dependencies, run: it issues a verifiable ticket, serves its docs, and exits 0 on SIGTERM',
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'usersig-deploy-'))
    const app = join(root, 'usersig-service')
    const steps: string[] = []
    // A person's shell: not the npm_* variables nor NODE_ENV=test of the jest run around this.
    const shellEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/',
      ...registryEnv(),
    }
    const step = (command: string, args: string[]) => {
      expect(DOC).toContain(`\n${command} ${args.join(' ')}\n`)
      const started = Date.now()
      const result = spawnSync(command, args, {
        cwd: app,
        env: shellEnv,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        timeout: 8 * 60_000,
      })
      steps.push(`${String(Date.now() - started).padStart(6)} ms  ${command} ${args.join(' ')}`)
      if (result.status !== 0)
        throw new Error(
          `${command} ${args.join(' ')}: ${result.status}\n${result.stdout}${result.stderr}`,
        )
    }
    const child = { current: undefined as ReturnType<typeof spawn> | undefined }
    try {
      copyRepository(app)
      step('npm', ['ci', '--no-audit', '--no-fund'])
      step('npm', ['run', 'build'])
      step('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund'])
      const packages = listPackages(join(app, 'node_modules'))
      for (const name of Object.keys(pkg.dependencies)) expect(packages).toContain(name)
      for (const name of ['typescript', 'tsx', 'jest', 'ts-jest', 'eslint', '@redocly/cli'])
        expect(packages).not.toContain(name)

      // The configuration in files only the service's user may read, with fresh secrets.
      const secrets = join(root, 'secrets')
      mkdirSync(secrets, { mode: 0o700 })
      const secret = randomBytes(32).toString('hex')
      const token = randomBytes(24).toString('base64url')
      writeFileSync(
        join(secrets, 'apps.json'),
        JSON.stringify({ '1400000000': { keys: [{ id: 'prod', secret }] } }),
        { mode: 0o600 },
      )
      writeFileSync(
        join(secrets, 'clients.json'),
        JSON.stringify([{ id: 'backend', token, apps: [1400000000], scopes: ['usersig:issue'] }]),
        { mode: 0o600 },
      )
      const port = await freePort()
      const base = `http://127.0.0.1:${port}`
      expect(DOC).toContain(`\n${COMMAND_LINE.join(' ')}\n`)
      const [node, ...flags] = COMMAND_LINE
      const running = spawn(node, flags, {
        cwd: app,
        env: {
          ...shellEnv,
          NODE_ENV: 'production',
          USERSIG_METRICS_TOKEN: randomBytes(32).toString('base64url'),
          HOST: '127.0.0.1',
          PORT: String(port),
          USERSIG_APPS_FILE: join(secrets, 'apps.json'),
          USERSIG_CLIENTS_FILE: join(secrets, 'clients.json'),
          // On here (off by default in production) so that the debug page's files, pako among
          // them, are checked against the pruned node_modules too.
          USERSIG_DEBUG_ENDPOINTS: 'true',
          SHUTDOWN_DELAY_MS: '200',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      child.current = running
      let stdout = ''
      let stderr = ''
      running.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      running.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const exited = new Promise<number | string>((resolve) =>
        running.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
      )

      const started = Date.now()
      let ready = 0
      while (ready !== 200 && Date.now() - started < 15_000 && running.exitCode === null) {
        ready = await fetch(`${base}/readyz`).then(
          (res) => res.status,
          () => 0,
        )
        if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      steps.push(
        `${String(Date.now() - started).padStart(6)} ms  node dist/main.js until /readyz 200`,
      )
      expect({ ready, stderr }).toEqual({ ready: 200, stderr: '' })

      const res = await fetch(`${base}/usersig`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sdkAppId: 1400000000, userId: 'alice', expire: 3600 }),
      })
      expect(res.status).toBe(200)
      const { userSig } = (await res.json()) as { userSig: string }
      expect(
        verifyUserSig(userSig, [createUserSigKey('prod', secret)], {
          sdkAppId: 1400000000,
          userId: 'alice',
          now: Math.floor(Date.now() / 1000),
        }),
      ).toMatchObject({ valid: true })

      // What production dependencies alone must serve: the contract, swagger-ui, the debug page.
      const served = async (path: string) => {
        const answer = await fetch(`${base}${path}`)
        return { path, status: answer.status, type: answer.headers.get('content-type') }
      }
      expect(await served('/openapi.yaml')).toMatchObject({ status: 200, type: /yaml/ })
      expect(await served('/docs/')).toMatchObject({ status: 200, type: /text\/html/ })
      expect(await served('/docs/swagger-ui-bundle.js')).toMatchObject({ status: 200 })
      expect(await served('/debug')).toMatchObject({ status: 200, type: /text\/html/ })
      expect(await served('/debug/pako.mjs')).toMatchObject({ status: 200 })

      running.kill('SIGTERM')
      expect(await exited).toBe(0)
      child.current = undefined
      expect(stdout).toContain('"production":true')
      expect(stdout).toContain('"msg":"stopped"')
      expect(stdout + stderr).not.toContain(secret)
      expect(stdout + stderr).not.toContain(token)
      console.log(
        [
          `production without Docker, on node ${execFileSync('node', ['--version'], { env: shellEnv, encoding: 'utf8' }).trim()}:`,
          ...steps.map((s) => `  ${s}`),
        ].join('\n'),
      )
    } finally {
      child.current?.kill('SIGKILL')
      rmSync(root, { recursive: true, force: true })
    }
  },
  10 * 60_000,
)
