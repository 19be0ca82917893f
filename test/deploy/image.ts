// Replays the Dockerfile without a Docker engine: the build context through .dockerignore, each
// stage's WORKDIR, ENV, COPY and RUN in a temp dir, then the runtime stage's CMD as its USER with
// the apps and clients as mounted secret files; checks readiness, a real ticket, the HEALTHCHECK,
// and a clean exit on SIGTERM. Run by `npm run test:image` (test/deploy/image.test.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createUserSigKey, verifyUserSig } from '../../src/usersig/index.js'
import {
  contextFiles,
  copyArguments,
  execForm,
  flag,
  readDockerfile,
  ROOT,
  type Stage,
} from '../helpers/dockerfile.js'
import { registryEnv } from '../helpers/build.js'
import { freePort } from '../helpers/process.js'

const REPO = fileURLToPath(ROOT)
/** Where the replay mounts the secret, as the Kubernetes manifests do. */
const SECRETS_DIR = '/run/secrets/usersig'

export interface ImageReplay {
  /** Each step and how long it took (ms). */
  readonly steps: { step: string; ms: number }[]
  /** Top-level packages in the runtime stage's node_modules. */
  readonly runtimePackages: string[]
  /** What the running service printed. */
  readonly stdout: string
  readonly stderr: string
  /** Files the service created or changed in its own directory: none, on a read-only root. */
  readonly written: string[]
  readonly ticket: { status: number; valid: boolean; keyId: unknown }
  readonly readyz: number
  readonly healthcheckExit: number | null
  readonly exitCode: number | string
  /** The USER instruction, and the uid the service ran as (from /proc; null where unreadable). */
  readonly user: string | undefined
  readonly uid: number | null
  /** Resident memory after start-up and one ticket (from /proc; null where unreadable). */
  readonly rssKiB: number | null
  /** Where the stages were built (removed afterwards unless `keep`). */
  readonly root: string
}

export async function replayImage(options: { keep?: boolean } = {}): Promise<ImageReplay> {
  const { stages } = readDockerfile()
  const root = mkdtempSync(join(tmpdir(), 'usersig-image-'))
  chmodSync(root, 0o755) // the runtime user must be able to reach its files
  const steps: { step: string; ms: number }[] = []
  const timed = async <T>(step: string, run: () => T | Promise<T>): Promise<T> => {
    const started = Date.now()
    const result = await run()
    steps.push({ step, ms: Date.now() - started })
    return result
  }
  let child: ChildProcess | undefined
  try {
    const context = join(root, 'context')
    await timed('context (.dockerignore)', () => copyContext(context))
    for (const stage of stages.slice(0, -1)) await replayStage(stage, root, context, timed)
    const runtime = stages.at(-1) as Stage
    const { workdir, env, user, cmd, healthcheck } = await replayStage(
      runtime,
      root,
      context,
      timed,
    )
    const appDir = join(root, 'stages', runtime.name, workdir)
    const runtimePackages = listPackages(join(appDir, 'node_modules'))

    // The secret, as Kubernetes mounts it: root-owned files the pod's group (fsGroup) may read.
    const ids = numericUser(user)
    const secretsDir = join(root, 'stages', runtime.name, SECRETS_DIR)
    mkdirSync(secretsDir, { recursive: true })
    const secret = randomBytes(32).toString('hex')
    const token = randomBytes(24).toString('base64url')
    const files = {
      'apps.json': JSON.stringify({ '1400000000': { keys: [{ id: 'image', secret }] } }),
      'clients.json': JSON.stringify([
        { id: 'image-check', token, apps: [1400000000], scopes: ['usersig:issue'] },
      ]),
      // Production needs /metrics closed: behind a token, as the scrape config sends it.
      'metrics.token': randomBytes(32).toString('base64url'),
    }
    for (const [name, text] of Object.entries(files)) {
      const path = join(secretsDir, name)
      writeFileSync(path, text, { mode: 0o440 })
      if (ids !== null) chownSync(path, 0, ids.gid)
    }
    const before = snapshot(appDir)

    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const runEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...env,
      // `docker run -e ...`: loopback only here, and the secret files.
      HOST: '127.0.0.1',
      PORT: String(port),
      USERSIG_APPS_FILE: join(secretsDir, 'apps.json'),
      USERSIG_CLIENTS_FILE: join(secretsDir, 'clients.json'),
      USERSIG_METRICS_TOKEN_FILE: join(secretsDir, 'metrics.token'),
      SHUTDOWN_DELAY_MS: '200',
    }
    const [command, ...args] = cmd
    if (command === undefined) throw new Error('the runtime stage has no CMD')
    const running = spawn(command, args, {
      cwd: appDir,
      env: runEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(ids ?? {}),
    })
    child = running
    let stdout = ''
    let stderr = ''
    running.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    running.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | string>((resolve) =>
      running.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    )
    let exitedEarly: number | string | undefined
    void exited.then((code) => (exitedEarly = code))

    const readyz = await timed('start until /readyz 200', async () => {
      const deadline = Date.now() + 15_000
      while (Date.now() < deadline && exitedEarly === undefined) {
        const status = await fetch(`${base}/readyz`).then(
          (res) => res.status,
          () => 0,
        )
        if (status === 200) return status
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      throw new Error(`not ready (exit ${exitedEarly}); stderr: ${stderr}; stdout: ${stdout}`)
    })

    const status = `/proc/${running.pid}/status`
    const proc = (field: string): number | null => {
      const line = existsSync(status)
        ? new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(status, 'utf8'))
        : null
      return line === null ? null : Number(line[1])
    }
    const uid = proc('Uid')

    const ticket = await timed('POST /usersig', async () => {
      const res = await fetch(`${base}/usersig`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sdkAppId: 1400000000, userId: 'alice', expire: 3600 }),
      })
      const body = (await res.json()) as { userSig?: string; keyId?: unknown }
      const verdict =
        typeof body.userSig === 'string'
          ? verifyUserSig(body.userSig, [createUserSigKey('image', secret)], {
              sdkAppId: 1400000000,
              userId: 'alice',
              now: Math.floor(Date.now() / 1000),
            })
          : { valid: false }
      return { status: res.status, valid: verdict.valid, keyId: body.keyId }
    })

    const rssKiB = proc('VmRSS')

    const healthcheckExit = await timed('HEALTHCHECK', () => {
      const [hcCommand, ...hcArgs] = healthcheck ?? []
      if (hcCommand === undefined) return null
      return spawnSync(hcCommand, hcArgs, {
        cwd: appDir,
        env: runEnv,
        timeout: 10_000,
        ...(ids ?? {}),
      }).status
    })

    const exitCode = await timed('SIGTERM until exit', async () => {
      running.kill('SIGTERM')
      const timeout = new Promise<string>((resolve) =>
        setTimeout(() => resolve('no exit within 15 s'), 15_000).unref(),
      )
      return Promise.race([exited, timeout])
    })
    child = undefined
    const after = snapshot(appDir)
    const written = [...after].filter(([path, mtime]) => before.get(path) !== mtime).map(([p]) => p)
    return {
      steps,
      runtimePackages,
      stdout,
      stderr,
      written,
      ticket,
      readyz,
      healthcheckExit,
      exitCode,
      user,
      uid,
      rssKiB,
      root,
    }
  } finally {
    child?.kill('SIGKILL')
    if (options.keep !== true) rmSync(root, { recursive: true, force: true })
  }
}

/** The build context: the repo's files that .dockerignore lets through. */
function copyContext(context: string): void {
  for (const path of contextFiles()) {
    mkdirSync(join(context, path, '..'), { recursive: true })
    cpSync(join(REPO, path), join(context, path))
  }
}

/** One stage: WORKDIR, ENV, COPY and RUN applied under root/stages/<stage>; the rest recorded. */
async function replayStage(
  stage: Stage,
  root: string,
  context: string,
  timed: <T>(step: string, run: () => T | Promise<T>) => Promise<T>,
) {
  const fsRoot = join(root, 'stages', stage.name)
  let workdir = '/'
  const env: Record<string, string> = {}
  let user: string | undefined
  let cmd: string[] = []
  let healthcheck: string[] | undefined
  for (const instruction of stage.instructions) {
    const keyword = instruction.getKeyword()
    const text = `${stage.name}: ${keyword} ${instruction.getArgumentsContent() ?? ''}`
    switch (keyword) {
      case 'WORKDIR':
        workdir = posix.resolve(workdir, instruction.getArguments()[0]?.getValue() ?? '.')
        mkdirSync(join(fsRoot, workdir), { recursive: true })
        break
      case 'ENV':
        for (const property of (
          instruction as unknown as {
            getProperties(): { getName(): string; getUnescapedValue(): string | null }[]
          }
        ).getProperties())
          env[property.getName()] = property.getUnescapedValue() ?? ''
        break
      case 'COPY': {
        const from = flag(instruction, 'from')
        const { sources, dest } = copyArguments(instruction)
        const target = join(fsRoot, posix.resolve(workdir, dest))
        const intoDir = dest.endsWith('/') || sources.length > 1
        for (const source of sources) {
          if (/[*?[]/.test(source)) throw new Error(`${text}: wildcards are not replayed`)
          const path =
            from === undefined
              ? join(context, posix.normalize(source))
              : join(root, 'stages', from, posix.resolve('/', source))
          if (!existsSync(path)) throw new Error(`${text}: ${source} is not in the context`)
          const to =
            statSync(path).isDirectory() || !intoDir ? target : join(target, basename(path))
          mkdirSync(statSync(path).isDirectory() ? to : join(to, '..'), { recursive: true })
          cpSync(path, to, { recursive: true })
        }
        break
      }
      case 'RUN': {
        const command = instruction.getArgumentsContent() ?? ''
        await timed(text, () => {
          // A build step sees the stage's ENV, not this process's (jest sets NODE_ENV=test).
          const result = spawnSync('/bin/sh', ['-c', command], {
            cwd: join(fsRoot, workdir),
            env: {
              PATH: process.env.PATH ?? '/usr/bin:/bin',
              HOME: process.env.HOME ?? '/',
              ...registryEnv(),
              ...env,
            },
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
            timeout: 8 * 60_000,
          })
          if (result.status !== 0)
            throw new Error(`${text} failed (${result.status}):\n${result.stdout}${result.stderr}`)
        })
        break
      }
      case 'USER':
        user = instruction.getArguments()[0]?.getValue()
        break
      case 'CMD':
        cmd = execForm(instruction) ?? ['/bin/sh', '-c', instruction.getArgumentsContent() ?? '']
        break
      case 'HEALTHCHECK':
        healthcheck = execForm(instruction) ?? undefined
        break
      case 'EXPOSE':
        break
      default:
        throw new Error(`${text}: not replayed here; extend test/deploy/image.ts`)
    }
  }
  return { workdir, env, user, cmd, healthcheck }
}

/** `USER 1000:1000` as spawn's uid and gid, when this process may switch to it (root). */
function numericUser(user: string | undefined): { uid: number; gid: number } | null {
  const match = /^(\d+)(?::(\d+))?$/.exec(user ?? '')
  if (match === null || process.getuid?.() !== 0) return null
  const uid = Number(match[1])
  return { uid, gid: Number(match[2] ?? uid) }
}

/** Top-level package names in a node_modules folder (scoped ones as `@scope/name`). */
export function listPackages(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return []
  return readdirSync(nodeModules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) =>
      name.startsWith('@')
        ? readdirSync(join(nodeModules, name)).map((inner) => `${name}/${inner}`)
        : [name],
    )
    .sort()
}

/** Every file under dir and its mtime, to see what the running service wrote. */
function snapshot(dir: string): Map<string, number> {
  const files = new Map<string, number>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name)
    files.set(path, statSync(path).mtimeMs)
  }
  return files
}
