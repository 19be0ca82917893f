// The built service the tests run: `dist/` compiled once per change of the sources, outside the
// checkout, in a folder that looks like a checkout (its other entries linked). Tests start
// `node <build>/dist/main.js` instead of compiling src/main.ts through tsx in every process, and
// a `npm start` running in the checkout keeps its own dist/ while `npm test` runs beside it.
//
// This file is also Jest's global set-up (its default export): it builds once per run and hands
// the folder to the test workers in USERSIG_TEST_BUILD. Jest loads it with Node's own loader, so it
// imports nothing but Node's modules.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Entries of the checkout a linked folder does not link: built, copied, or made in the folder
 * (a service's files, an example's output).
 */
export const NOT_LINKED: ReadonlySet<string> = new Set([
  '.git',
  'dist',
  'deploy',
  'secrets',
  '.env',
  '.usersig-dev-token',
  'artifacts',
  'coverage',
])

/** What the build depends on: the sources and the compiler's settings. */
function buildInputs(): string[] {
  const files: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else files.push(path)
    }
  }
  walk(join(ROOT, 'src'))
  files.push(join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json'))
  files.push(join(ROOT, 'node_modules/typescript/package.json'))
  return files.sort()
}

function digest(): string {
  const hash = createHash('sha256')
  for (const file of buildInputs())
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0')
  return hash.digest('hex').slice(0, 16)
}

/**
 * A folder like the checkout: every entry linked but NOT_LINKED ones, and those of `copied`
 * copied (npm pack leaves symbolic links out). `dist` links to the shared build's (for a process
 * that only runs it) or is left out (for one that builds its own).
 */
export function linkedCheckout(
  prefix: string,
  { dist, copied = [] }: { dist: 'link' | 'none'; copied?: readonly string[] },
): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  for (const name of readdirSync(ROOT)) {
    if (copied.includes(name)) cpSync(join(ROOT, name), join(dir, name), { recursive: true })
    else if (!NOT_LINKED.has(name)) symlinkSync(join(ROOT, name), join(dir, name))
  }
  if (dist === 'link') symlinkSync(join(builtService(), 'dist'), join(dir, 'dist'))
  return dir
}

/**
 * Builds dist/ for the current sources unless that build exists, and returns its folder. Builds
 * of this checkout for older sources are removed.
 */
export function ensureBuild(): string {
  const checkout = createHash('sha256').update(ROOT).digest('hex').slice(0, 8)
  const prefix = `usersig-build-${checkout}-`
  const folder = join(tmpdir(), `${prefix}${digest()}`)
  if (!existsSync(join(folder, 'dist', 'main.js'))) {
    const staging = mkdtempSync(join(tmpdir(), `${prefix}staging-`))
    for (const name of readdirSync(ROOT))
      if (!NOT_LINKED.has(name)) symlinkSync(join(ROOT, name), join(staging, name))
    const tsc = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(ROOT, 'tsconfig.build.json'),
        '--outDir',
        join(staging, 'dist'),
      ],
      { encoding: 'utf8' },
    )
    if (tsc.status !== 0) {
      rmSync(staging, { recursive: true, force: true })
      throw new Error(`the build for the tests failed:\n${tsc.stdout}${tsc.stderr}`)
    }
    try {
      renameSync(staging, folder)
    } catch {
      // Another run built the same sources meanwhile: theirs is as good.
      rmSync(staging, { recursive: true, force: true })
    }
  }
  // In use now: a concurrent run's clean-up (below) leaves it alone.
  const now = new Date()
  utimesSync(folder, now, now)
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name)
    if (name.startsWith(prefix) && path !== folder && !name.includes('staging-') && isOld(path))
      rmSync(path, { recursive: true, force: true })
  }
  return folder
}

/** Older than an hour: a run still using it would have finished. */
function isOld(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > 3_600_000
  } catch {
    return false
  }
}

let built: string | undefined

/** The built service's folder (USERSIG_TEST_BUILD from the global set-up, or built now). */
export function builtService(): string {
  built ??= process.env.USERSIG_TEST_BUILD ?? ensureBuild()
  return built
}

/** The built entry point, `<build>/dist/main.js`. */
export function builtMain(): string {
  return join(builtService(), 'dist', 'main.js')
}

/** Jest's global set-up: once per run, before any test file; the workers inherit the variable. */
export default function globalSetup(): void {
  process.env.USERSIG_TEST_BUILD = ensureBuild()
}

/**
 * What a shell on this machine carries to reach the npm registry: its proxy and the certificate
 * authorities it trusts. A test that runs npm "as a person would", in an otherwise bare
 * environment, passes these on: without them each registry request fails and is retried, and a
 * warm-cache `npm ci` takes minutes instead of seconds.
 */
export function registryEnv(): Record<string, string> {
  const names = [
    'NODE_EXTRA_CA_CERTS',
    'SSL_CERT_FILE',
    'SSL_CERT_DIR',
    'HTTP_PROXY',
    'HTTPS_PROXY',
    'NO_PROXY',
    'http_proxy',
    'https_proxy',
    'no_proxy',
  ]
  return Object.fromEntries(
    names.flatMap((name) => {
      const value = process.env[name]
      return value === undefined ? [] : [[name, value]]
    }),
  )
}
