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
 * Node's LTS lines and their end of life (nodejs.org/en/about/previous-releases). An image on a
 * line past its end of life fails here: move FROM to a supported line, and add new lines as they
 * become LTS.
 */
const NODE_LTS_END_OF_LIFE: Record<number, string> = {
  20: '2026-04-30',
  22: '2027-04-30',
  24: '2028-04-30',
}

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

test.each(stages.map((stage) => [stage.name, stage] as const))(
  'stage %s starts from a tagged (not latest), supported Node LTS',
  (_name, stage) => {
    expect(stage.imageName).toBe('node')
    expect(stage.imageTag).not.toBeNull()
    expect(stage.imageTag).not.toBe('latest')
    const major = Number(/^(\d+)[.-]/.exec(stage.imageTag ?? '')?.[1])
    const endOfLife = NODE_LTS_END_OF_LIFE[major]
    if (endOfLife === undefined)
      throw new Error(
        `${stage.image}: Node ${major} is not a known LTS line (NODE_LTS_END_OF_LIFE)`,
      )
    if (Date.now() >= Date.parse(`${endOfLife}T00:00:00Z`))
      throw new Error(`${stage.image}: Node ${major} reached its end of life on ${endOfLife}`)
    // The line must also satisfy package.json's engines (">=20.19.0").
    expect(major).toBeGreaterThanOrEqual(Number(/\d+/.exec(pkg.engines.node)?.[0]))
  },
)

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
