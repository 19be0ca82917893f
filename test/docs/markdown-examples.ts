// The shell examples of a Markdown page, and the output each one shows. The conventions are
// described in CONTRIBUTING.md ("Examples in the docs"); in short:
//
//   ```sh                      a runnable block: run in order, in one bash per page
//   ```json output             directly after a ```sh block: the shape of its standard output
//   ```text output             directly after a ```sh block: its lines (`...` matches the rest)
//   <!-- examples: start -->   before a ```console block `$ [NAME=value ...] npm start` (or
//                              `node ...`): the runner starts the service there, as written
//   <!-- examples: given PATH ... -->   files the page asks the reader to make by hand
//   <!-- examples: after PAGE -->       the page builds on PAGE: its set-up (the sh blocks before
//                                       its first start) runs first, in the same shell
//   <!-- examples: requires CMD -->     before a ```sh block that needs CMD (e.g. kubectl)
//
// Fences are read line by line, not with a Markdown parser: the conventions are about what sits on
// the line before or after a fence, and a fence at the start of a line is all they need. A runnable
// fence that is indented (inside a list) would be missed, so `examplesOf` refuses one.

export type Step =
  | { kind: 'run'; line: number; code: string; requires: string | null; output: Output | null }
  | { kind: 'start'; line: number; env: Record<string, string>; command: string[] }

export interface Output {
  readonly format: 'json' | 'text'
  readonly text: string
}

export interface PageExamples {
  readonly given: string[]
  /** Pages whose set-up runs first. */
  readonly after: string[]
  readonly steps: Step[]
}

interface Fence {
  info: string
  body: string
  start: number
  /** The line after the closing fence. */
  end: number
}

const DIRECTIVE = /^<!-- examples: (start|given|after|requires)\b ?(.*?) ?-->$/

export function examplesOf(markdown: string, page: string): PageExamples {
  const lines = markdown.split('\n')
  const given: string[] = []
  const after: string[] = []
  const steps: Step[] = []
  let directive: { verb: string; args: string; line: number } | null = null
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    const match = DIRECTIVE.exec(line)
    if (match) {
      const [, verb = '', args = ''] = match
      if (verb === 'given') given.push(...args.split(/\s+/).filter(Boolean))
      else if (verb === 'after') after.push(args)
      else directive = { verb, args, line: i + 1 }
      continue
    }
    if (/^\s+```+\s*(sh|bash)\b/.test(line))
      throw new Error(
        `${page}:${i + 1}: an indented sh fence is not run; unindent it or use console`,
      )
    const fence = fenceAt(lines, i)
    if (fence === null) {
      if (line.trim() !== '') directive = null
      continue
    }
    i = fence.end - 1
    const pending = directive
    directive = null
    if (pending?.verb === 'start') {
      if (fence.info !== 'console')
        throw new Error(`${page}:${pending.line}: "examples: start" must precede a console block`)
      steps.push({ kind: 'start', line: fence.start, ...startCommand(fence.body, page, fence) })
      continue
    }
    if (fence.info === 'sh' || fence.info === 'bash') {
      // A page runs in a folder whose node_modules is the checkout's own (linked): a block that
      // installs or prunes would change the checkout under every other test. Such steps are a
      // reader's, on their own host; test/deploy/ runs them in a copy.
      if (/\bnpm (ci|install|i|prune|uninstall|update)\b/.test(fence.body))
        throw new Error(
          `${page}:${fence.start}: a sh block must not install or prune packages; use console`,
        )
      const pipeline = pipelineStatusTested(fence.body)
      if (pipeline !== null)
        throw new Error(
          `${page}:${fence.start}: \`${pipeline}\` tests a pipeline's exit status, which differs without pipefail; keep the command's output in a variable first`,
        )
      steps.push({
        kind: 'run',
        line: fence.start,
        code: fence.body,
        requires: pending?.verb === 'requires' ? pending.args : null,
        output: null,
      })
      continue
    }
    const output = /^(json|text) output$/.exec(fence.info)
    if (output) {
      const last = steps.at(-1)
      const between = lines.slice(
        last?.kind === 'run' ? lineAfter(lines, last.line) : 0,
        fence.start - 1,
      )
      if (last?.kind !== 'run' || between.some((l) => l.trim() !== ''))
        throw new Error(`${page}:${fence.start}: an output block must follow a sh block directly`)
      last.output = { format: output[1] as 'json' | 'text', text: fence.body }
    }
  }
  return { given, after, steps }
}

/** The fence opening at line `i` (0-based), or null. */
function fenceAt(lines: string[], i: number): Fence | null {
  const open = /^(```+)\s*(.*)$/.exec(lines[i] as string)
  if (!open) return null
  const [, ticks = '```', info = ''] = open
  for (let j = i + 1; j < lines.length; j++) {
    if ((lines[j] as string).trim() === ticks)
      return { info: info.trim(), body: lines.slice(i + 1, j).join('\n'), start: i + 1, end: j + 1 }
  }
  throw new Error(`unclosed fence at line ${i + 1}`)
}

/**
 * The first command line of `code` that tests a pipeline's exit status (`a | b || c`,
 * `X=$(a | b) && c`), or null. The test runs each page under `set -o pipefail`, where a pipeline
 * fails when any of its commands does; in a reader's interactive shell only its last command
 * counts, so such a line prints something else there. Quoted text and comments are left out, and
 * a line continued with a backslash or ending in `|`, `||` or `&&` is one line with the next.
 */
export function pipelineStatusTested(code: string): string | null {
  const logical = code.replace(/(\\|\|\||&&|\|)[ \t]*\n/g, (_, joint: string) =>
    joint === '\\' ? ' ' : `${joint} `,
  )
  for (const line of logical.split('\n')) {
    const bare = line
      .replace(/'[^']*'/g, "''")
      .replace(/"(?:[^"\\]|\\.)*"/g, '""')
      .replace(/(^|\s)#.*$/, '$1')
    if (/(^|[^|])\|(?![|&]).*?(\|\||&&)/.test(bare)) return line.trim()
  }
  return null
}

/** The 0-based index of the line after the fence that opens at 1-based `start`. */
function lineAfter(lines: string[], start: number): number {
  const fence = fenceAt(lines, start - 1)
  return fence === null ? start : fence.end
}

/** `$ NAME=value ... npm start` or `$ NAME=value ... node args`: one command, words only. */
function startCommand(body: string, page: string, fence: Fence) {
  const commands = body.split('\n').filter((l) => l.startsWith('$ '))
  if (commands.length !== 1)
    throw new Error(`${page}:${fence.start}: a start block holds exactly one "$ " command`)
  const words = (commands[0] as string)
    .slice(2)
    .replace(/\s+#.*$/, '')
    .trim()
    .split(/\s+/)
  const env: Record<string, string> = {}
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0] as string)) {
    const word = words.shift() as string
    env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1)
  }
  if (!(words.join(' ') === 'npm start' || words[0] === 'node'))
    throw new Error(`${page}:${fence.start}: a start block runs "npm start" or "node ..."`)
  return { env, command: words }
}

/**
 * Where `actual` departs from the shape `expected` shows, or null when it matches. Objects: the
 * same keys. Arrays: element by element; a last element "..." matches any further elements.
 * Strings: equal, or, when the expected one ends in "...", starting with what precedes it.
 * Numbers: any number (times, counts and ports vary). Booleans and null: equal.
 */
export function jsonMismatch(expected: unknown, actual: unknown, path = '$'): string | null {
  if (typeof expected === 'number')
    return typeof actual === 'number' ? null : `${path}: expected a number, got ${show(actual)}`
  if (typeof expected === 'string') {
    if (typeof actual !== 'string') return `${path}: expected a string, got ${show(actual)}`
    if (expected.endsWith('...')) {
      const prefix = expected.slice(0, -3)
      return actual.startsWith(prefix)
        ? null
        : `${path}: expected "${expected}", got ${show(actual)}`
    }
    return actual === expected ? null : `${path}: expected "${expected}", got ${show(actual)}`
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${show(actual)}`
    const open = expected.at(-1) === '...'
    const fixed = open ? expected.slice(0, -1) : expected
    if (open ? actual.length < fixed.length : actual.length !== fixed.length)
      return `${path}: expected ${open ? 'at least ' : ''}${fixed.length} elements, got ${actual.length}`
    for (const [i, item] of fixed.entries()) {
      const mismatch = jsonMismatch(item, actual[i], `${path}[${i}]`)
      if (mismatch) return mismatch
    }
    return null
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return `${path}: expected an object, got ${show(actual)}`
    const want = Object.keys(expected).sort()
    const got = Object.keys(actual).sort()
    if (want.join() !== got.join())
      return `${path}: expected keys ${want.join(', ')}; got ${got.join(', ')}`
    for (const key of want) {
      const mismatch = jsonMismatch(
        (expected as Record<string, unknown>)[key],
        (actual as Record<string, unknown>)[key],
        `${path}.${key}`,
      )
      if (mismatch) return mismatch
    }
    return null
  }
  return actual === expected ? null : `${path}: expected ${show(expected)}, got ${show(actual)}`
}

/**
 * Line by line: equal, or the expected line ends in "..." and the actual one starts with what
 * precedes it; a line that is only "..." matches any number of lines. Trailing blank lines aside.
 */
export function textMismatch(expected: string, actual: string): string | null {
  const want = expected.replace(/\n+$/, '').split('\n')
  const got = actual.replace(/\n+$/, '').split('\n')
  const match = (w: number, g: number): boolean => {
    if (w === want.length) return g === got.length
    const line = want[w] as string
    if (line === '...') {
      for (let k = g; k <= got.length; k++) if (match(w + 1, k)) return true
      return false
    }
    if (g === got.length) return false
    const text = got[g] as string
    const ok = line.endsWith('...') ? text.startsWith(line.slice(0, -3)) : text === line
    return ok && match(w + 1, g + 1)
  }
  return match(0, 0) ? null : `expected lines:\n${expected}\ngot:\n${actual}`
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
