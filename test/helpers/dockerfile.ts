// Reads the Dockerfile (dockerfile-ast) into stages, and .dockerignore into a path filter, for the
// policy test and for the image replay that stands in for `docker build` where no engine runs.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DockerfileParser, type Instruction } from 'dockerfile-ast'

export const ROOT = new URL('../../', import.meta.url)

/** The value, or a thrown error naming what is missing (tests read optional fields with it). */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`${what}: missing`)
  return value
}

export interface Stage {
  readonly name: string
  /** The FROM image as written, e.g. `node:26-bookworm-slim`. */
  readonly image: string
  readonly imageName: string | null
  readonly imageTag: string | null
  readonly imageDigest: string | null
  /** The stage's instructions after its FROM. */
  readonly instructions: readonly Instruction[]
}

export interface ParsedDockerfile {
  readonly text: string
  readonly stages: readonly Stage[]
  readonly instructions: readonly Instruction[]
}

export function readDockerfile(text = readFileSync(new URL('Dockerfile', ROOT), 'utf8')) {
  const dockerfile = DockerfileParser.parse(text)
  const stages: Stage[] = []
  const froms = dockerfile.getFROMs()
  const all = dockerfile.getInstructions()
  froms.forEach((from, index) => {
    const start = all.indexOf(from)
    const next = froms[index + 1]
    const end = next === undefined ? all.length : all.indexOf(next)
    stages.push({
      name: from.getBuildStage() ?? String(index),
      image: from.getImage() ?? '',
      imageName: from.getImageName(),
      imageTag: from.getImageTag(),
      imageDigest: from.getImageDigest(),
      instructions: all.slice(start + 1, end),
    })
  })
  return { text, stages, instructions: all } satisfies ParsedDockerfile
}

/** The instructions of a stage with this keyword. */
export function ofKind(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.getKeyword() === keyword)
}

/** A flag's value (`--from=build` -> `build`), or undefined. */
export function flag(instruction: Instruction, name: string): string | undefined {
  const flags = 'getFlags' in instruction ? (instruction.getFlags as () => FlagLike[])() : []
  return flags.find((f) => f.getName() === name)?.getValue() ?? undefined
}
interface FlagLike {
  getName(): string
  getValue(): string | null
}

/**
 * The exec form's argument list (`CMD ["node", "dist/main.js"]`), or null for the shell form. For
 * HEALTHCHECK, the list after its own `CMD`.
 */
export function execForm(instruction: Instruction): string[] | null {
  let content = instruction.getArgumentsContent() ?? ''
  if (instruction.getKeyword() === 'HEALTHCHECK') content = content.replace(/^CMD\s+/, '')
  if (!content.trimStart().startsWith('[')) return null
  try {
    const parsed: unknown = JSON.parse(content)
    return Array.isArray(parsed) && parsed.every((arg) => typeof arg === 'string') ? parsed : null
  } catch {
    return null
  }
}

/** The variables a stage's ENV instructions set, in order. */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const instruction of ofKind(stage, 'ENV')) {
    const properties = (
      instruction as unknown as {
        getProperties(): { getName(): string; getUnescapedValue(): string | null }[]
      }
    ).getProperties()
    for (const property of properties) env[property.getName()] = property.getUnescapedValue() ?? ''
  }
  return env
}

/** COPY's sources and destination (the last argument), flags left out. */
export function copyArguments(instruction: Instruction): { sources: string[]; dest: string } {
  const args = instruction.getArguments().map((arg) => arg.getValue())
  const dest = args.pop()
  if (dest === undefined || args.length === 0) throw new Error(`COPY needs a source and a dest`)
  return { sources: args, dest }
}

/**
 * .dockerignore as predicates. `included(path)`: a context path (posix, relative) is sent to the
 * build. Docker's rules, in the subset this repo uses: `*` within one path segment, `**` across
 * segments, a leading `!` re-includes, and the last line that matches the path or one of its parent
 * directories wins. `mayIncludeBelow(dir)`: an excluded directory may still hold included files,
 * so a walk must enter it.
 */
export function dockerignore(text = readFileSync(new URL('.dockerignore', ROOT), 'utf8')): {
  included: (path: string) => boolean
  mayIncludeBelow: (dir: string) => boolean
} {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!')
      const pattern = (include ? line.slice(1) : line).replace(/^\/+|\/+$/g, '')
      const source = pattern
        .split('/')
        .map((segment) =>
          segment === '**'
            ? '.*'
            : segment
                .split('*')
                .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
                .join('[^/]*'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?')
      return { include, pattern, regex: new RegExp(`^${source}$`) }
    })
  const included = (path: string): boolean => {
    const segments = path.split('/')
    const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'))
    let result = true
    for (const rule of rules) if (candidates.some((c) => rule.regex.test(c))) result = rule.include
    return result
  }
  const mayIncludeBelow = (dir: string): boolean =>
    rules.some(
      (rule) =>
        rule.include && (rule.pattern.startsWith(`${dir}/`) || rule.pattern.startsWith('**')),
    )
  return { included, mayIncludeBelow }
}

/** The context `docker build .` would send: the repo's files that .dockerignore lets through. */
export function contextFiles(): string[] {
  const { included, mayIncludeBelow } = dockerignore()
  const files: string[] = []
  const walk = (relative: string): void => {
    const dir = fileURLToPath(new URL(relative === '' ? '.' : `${relative}/`, ROOT))
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`
      if (entry.isDirectory()) {
        if (included(path) || mayIncludeBelow(path)) walk(path)
      } else if (included(path)) files.push(path)
    }
  }
  walk('')
  return files.sort()
}
