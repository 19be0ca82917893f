// Every shell example in README.md, CONTRIBUTING.md and docs/*.md runs as written, in order, in one
// bash per page (set -euo pipefail), against the service started where the page starts it; a
// block's shown output must keep its shape. Conventions: CONTRIBUTING.md, "Examples in the docs".
//
// Each page runs in a fresh folder that looks like a checkout (its files linked, deploy/ copied,
// dist/ the tests' build: test/helpers/build.ts), so what an example writes (.env, secrets/, an
// overlay) never lands in the real checkout, and the development default's token file is the
// page's own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { linkedCheckout, ROOT } from '../helpers/build.js'
import { freePort } from '../helpers/process.js'
import {
  examplesOf,
  jsonMismatch,
  pipelineStatusTested,
  textMismatch,
  type PageExamples,
  type Step,
} from './markdown-examples.js'

const PAGES = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
].filter((page) => existsSync(join(ROOT, page)))
const EXAMPLES = new Map(
  PAGES.map((page) => [page, examplesOf(readFileSync(join(ROOT, page), 'utf8'), page)]),
)
const DEV_TOKEN_FILE = '.usersig-dev-token'
// Generous: a block may run several npx commands on a busy 2-core machine.
const BLOCK_TIMEOUT_MS = 60_000

test('the docs have runnable examples, and README starts the service before using it', () => {
  const readme = EXAMPLES.get('README.md')?.steps ?? []
  expect(readme.filter((step) => step.kind === 'run').length).toBeGreaterThan(3)
  expect(readme.findIndex((step) => step.kind === 'start')).toBe(0)
})

const runnable = PAGES.filter((page) => EXAMPLES.get(page)?.steps.some((s) => s.kind === 'run'))

test.each(runnable)(
  '%s: every sh block runs and shows the output it says',
  async (page) => {
    const { given, after, steps } = EXAMPLES.get(page) as PageExamples
    const dir = pageFolder()
    const shell = new Shell(dir)
    let service: Started | null = null
    // One address per page, as a reader's service keeps 127.0.0.1:8080 across restarts.
    const port = await freePort()
    try {
      for (const earlier of after) {
        const setUp = EXAMPLES.get(earlier)
        if (setUp === undefined)
          throw new Error(`${page}: "examples: after ${earlier}": no such page`)
        for (const path of setUp.given) makeGiven(dir, path)
        const first = setUp.steps.findIndex((s) => s.kind === 'start')
        for (const step of setUp.steps.slice(0, first === -1 ? undefined : first)) {
          if (step.kind !== 'run') continue
          const result = await shell.run(step.code)
          if (result.exit !== null)
            throw new Error(
              `${earlier}:${step.line} (set-up for ${page}) exited with ${result.exit}\n${result.stderr}`,
            )
        }
      }
      for (const path of given) makeGiven(dir, path)
      for (const step of steps) {
        if (step.kind === 'start') {
          await stopExplained(service, page)
          service = await startService(dir, step, port, `${page}:${step.line}`)
          continue
        }
        if (step.requires !== null && !onPath(step.requires)) {
          console.warn(`${page}:${step.line}: skipped, ${step.requires} is not installed`)
          continue
        }
        const code =
          service === null ? step.code : step.code.replaceAll('127.0.0.1:8080', service.address)
        const result = await shell.run(code)
        const where = `${page}:${step.line}`
        if (result.exit !== null)
          throw new Error(
            `${where}: the block exited with ${result.exit}\n--- block\n${step.code}\n` +
              `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
          )
        if (step.output !== null) {
          const mismatch = outputMismatch(step.output, result.stdout)
          if (mismatch !== null)
            throw new Error(`${where}: the output no longer matches the page: ${mismatch}`)
        }
      }
      await stopExplained(service, page)
      service = null
    } finally {
      shell.close()
      await service?.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  },
  180_000,
)

/**
 * Stops a page's service; every warning it logged must be named on the page (`code`), so that a
 * reader who follows the page never meets a warning it does not explain.
 */
async function stopExplained(service: Started | null, page: string): Promise<void> {
  if (service === null) return
  await service.stop()
  const text = readFileSync(join(ROOT, page), 'utf8')
  const unexplained = service.warnings().filter((code) => !text.includes(`\`${code}\``))
  if (unexplained.length > 0)
    throw new Error(
      `${page}: the service warned ${unexplained.join(', ')}, which the page never names`,
    )
}

test('.env.example loads as documented: node --env-file=.env dist/main.js, placeholders filled', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  expect(readme).toContain('$ node --env-file=.env dist/main.js')
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8')
  expect(example).not.toMatch(/set -a|\. \.\/\.env/)
  const key = randomBytes(32).toString('hex')
  const token = randomBytes(24).toString('base64url')
  const dir = pageFolder()
  const env = example
    .replace('REPLACE_WITH_THE_NEW_KEY_FROM_THE_IM_CONSOLE', key)
    .replace('REPLACE_WITH_A_RANDOM_TOKEN_OF_32_OR_MORE_CHARACTERS', token)
  expect(env).not.toContain('REPLACE_WITH_')
  writeFileSync(join(dir, '.env'), env, { mode: 0o600 })
  const service = await startService(
    dir,
    { kind: 'start', line: 0, env: {}, command: ['node', '--env-file=.env', 'dist/main.js'] },
    await freePort(),
    '.env.example',
  )
  try {
    const response = await fetch(`http://${service.address}/usersig`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sdkAppId: 1400000000, userId: 'alice' }),
    })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { keyId: string; sdkAppId: number }
    expect(body).toMatchObject({ keyId: '2026-11', sdkAppId: 1400000000 })
  } finally {
    await service.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)

describe('the output check itself', () => {
  test('JSON: keys, types and exact strings count; numbers and "..." strings vary', () => {
    const shown = { valid: false, code: 'ticket_expired', at: 1, sig: 'eAEB...', ids: ['a', '...'] }
    const real = { valid: false, code: 'ticket_expired', at: 9, sig: 'eAEBxyz', ids: ['a', 'b'] }
    expect(jsonMismatch(shown, real)).toBeNull()
    expect(jsonMismatch(shown, { ...real, code: 'ticket_malformed' })).toMatch(/\$\.code/)
    expect(jsonMismatch(shown, { ...real, extra: 1 })).toMatch(/keys/)
    expect(jsonMismatch(shown, { ...real, at: '9' })).toMatch(/\$\.at: expected a number/)
    expect(jsonMismatch(shown, { ...real, sig: 'eJy' })).toMatch(/\$\.sig/)
    expect(jsonMismatch(shown, { ...real, ids: [] })).toMatch(/at least 1/)
    expect(jsonMismatch([1], [1, 2])).toMatch(/1 elements, got 2/)
  })

  test('a sh block that would install or prune packages is refused (it would change the checkout)', () => {
    for (const command of ['npm ci', 'npm install', 'npm prune --omit=dev'])
      expect(() => examplesOf(`\`\`\`sh\n${command}\n\`\`\`\n`, 'page.md')).toThrow(
        /page\.md:1: a sh block must not install or prune packages/,
      )
    expect(examplesOf('```console\nnpm ci\n```\n', 'page.md').steps).toEqual([])
  })

  test("a sh block that tests a pipeline's status is refused: without pipefail it prints something else", () => {
    for (const code of [
      'npx usersig verify "$T" | field code || echo "exit status $?"',
      'npx usersig verify "$T" | node -p x \\\n  || echo "exit status $?"',
      'curl -s $BASE |\n  grep -q ok && echo up',
      'X=$(a | b) || echo failed',
    ])
      expect(() => examplesOf(`\`\`\`sh\n${code}\n\`\`\`\n`, 'page.md')).toThrow(
        /page\.md:1: `.+` tests a pipeline's exit status, which differs without pipefail/,
      )
    for (const code of [
      'V=$(npx usersig verify "$T") || echo "exit status $?"\necho "$V" | field code',
      'a || b && c',
      "grep -c 'a|b' file || echo none",
      'echo "x | y" && echo z',
      'curl -s $BASE | field code   # || not a command',
    ])
      expect(pipelineStatusTested(code)).toBeNull()
  })

  test('text: lines in order; "..." ends a line or stands for any lines', () => {
    expect(textMismatch('a\n...\nz 1...', 'a\nb\nc\nz 123\n')).toBeNull()
    expect(textMismatch('a\nz', 'a\nb\nz')).not.toBeNull()
    expect(textMismatch('a...', 'b')).not.toBeNull()
  })
})

/** A fresh folder that looks like the checkout: files linked, the tests' dist/, deploy/ copied. */
function pageFolder(): string {
  const dir = linkedCheckout('usersig-docs-page-', { dist: 'link' })
  cpSync(join(ROOT, 'deploy'), join(dir, 'deploy'), { recursive: true })
  return dir
}

/** A file a page asks its reader to make by hand: a key from the IM console (64 hex digits). */
function makeGiven(dir: string, path: string): void {
  if (!/^secrets\/[\w.-]+\.key$/.test(path))
    throw new Error(`no recipe for the given file ${path} (test/docs/examples.test.ts, makeGiven)`)
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 })
  writeFileSync(join(dir, path), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
}

function outputMismatch(output: { format: 'json' | 'text'; text: string }, stdout: string) {
  if (output.format === 'text') return textMismatch(output.text, stdout)
  let actual: unknown
  try {
    actual = JSON.parse(stdout)
  } catch {
    return `expected one JSON document, got:\n${stdout}`
  }
  return jsonMismatch(JSON.parse(output.text), actual)
}

interface Started {
  /** host:port, what the examples' 127.0.0.1:8080 becomes. */
  readonly address: string
  stop(): Promise<void>
  /** The codes of the warnings it has logged so far (`"warning":...` lines). */
  warnings(): string[]
}

/** Starts the service as the page's console line says, on a free loopback port, in `dir`. */
async function startService(
  dir: string,
  step: Extract<Step, { kind: 'start' }>,
  port: number,
  where: string,
): Promise<Started> {
  let words = step.command
  if (words.join(' ') === 'npm start') {
    // `npm start` builds (prestart), then runs `exec node ...`: dist/ is built already, so run
    // that node command line.
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: { start: string }
    }
    words = scripts.start
      .replace(/^exec\s+/, '')
      .trim()
      .split(/\s+/)
  }
  const child = spawn(process.execPath, words.slice(1), {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...step.env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const exited = once(child, 'exit')
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 20_000)
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      if (stdout.includes('"msg":"listening"')) {
        clearTimeout(timer)
        resolve(true)
      }
    })
    void exited.then(() => resolve(false))
  })
  if (!listening) {
    child.kill('SIGKILL')
    throw new Error(`${where}: the service did not start\n${stdout}${stderr}`)
  }
  const developmentDefault =
    !Object.keys(step.env).some((name) => /^USERSIG_(APPS|CLIENTS|JWT|JWKS)/.test(name)) &&
    !words.some((word) => word.startsWith('--env-file'))
  if (developmentDefault) {
    // The README reads the demo token from this file: it must be there once the service listens.
    const deadline = Date.now() + 5_000
    while (!existsSync(join(dir, DEV_TOKEN_FILE)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    if (!existsSync(join(dir, DEV_TOKEN_FILE)))
      throw new Error(`${where}: no ${DEV_TOKEN_FILE} after start-up\n${stderr}`)
  }
  return {
    address: `127.0.0.1:${port}`,
    warnings: () =>
      [...stdout.matchAll(/"warning":"([a-z_]+)"/g)].map((match) => match[1] as string),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      rmSync(join(dir, DEV_TOKEN_FILE), { force: true })
    },
  }
}

/**
 * One bash for a page: each block is eval'd in the same shell, so variables carry from block to
 * block as in a reader's terminal; standard input is /dev/null, as the blocks come in on fd 3.
 */
class Shell {
  private readonly child: ChildProcess
  private readonly mark = `@@example-done-${randomUUID()}@@`
  private stdout = ''
  private stderr = ''
  private exit: number | null = null
  private wake: () => void = () => undefined

  constructor(dir: string) {
    const script = [
      'set -euo pipefail',
      'exec 3<&0 </dev/null',
      `while IFS= read -r -d '' __example <&3; do`,
      '  eval "$__example"',
      `  printf '\\n%s\\n' '${this.mark}'; printf '\\n%s\\n' '${this.mark}' >&2`,
      'done',
    ].join('\n')
    this.child = spawn('bash', ['-c', script], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        LANG: 'C.UTF-8',
        CI: 'true',
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString()
      this.wake()
    })
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString()
      this.wake()
    })
    this.child.on('exit', (code, signal) => {
      this.exit = code ?? (signal === null ? -1 : 128)
      this.wake()
    })
  }

  /** Runs one block; `exit` is null while the shell lives on (the block succeeded). */
  async run(code: string): Promise<{ exit: number | null; stdout: string; stderr: string }> {
    this.stdout = ''
    this.stderr = ''
    this.child.stdin?.write(`${code}\n\0`)
    const done = `\n${this.mark}\n`
    const deadline = Date.now() + BLOCK_TIMEOUT_MS
    while (this.exit === null && !(this.stdout.includes(done) && this.stderr.includes(done))) {
      if (Date.now() > deadline) {
        this.child.kill('SIGKILL')
        return { exit: -1, stdout: this.stdout, stderr: `${this.stderr}\n(timed out)` }
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve
        setTimeout(resolve, 500)
      })
    }
    const cut = (text: string) => (text.includes(done) ? text.slice(0, text.indexOf(done)) : text)
    return { exit: this.exit, stdout: cut(this.stdout), stderr: cut(this.stderr) }
  }

  close(): void {
    this.child.stdin?.end()
    if (this.exit === null) this.child.kill('SIGTERM')
  }
}
