// Where a document comes from: an environment variable, or the file its `*_FILE` twin names.
// File problems name the variable actually used and why (ENOENT, EACCES, EISDIR, empty), so an
// operator paged at night knows what to fix without reading code.
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs'
import type { Findings } from './findings.js'

export type Env = Readonly<Record<string, string | undefined>>

/** Reads a configuration file's text; throws an error with a `code` (ENOENT, EACCES, ...) if it cannot. */
export type ReadFile = (path: string) => string

/** A larger configuration file is refused: 1000 apps of 8 keys fit in a tenth of it. */
export const MAX_FILE_BYTES = 1024 * 1024

/** A document's text and the variable it came from, as messages must name it. */
export interface Source {
  /** `USERSIG_APPS`, or `USERSIG_APPS_FILE` when the file was used. */
  readonly variable: string
  readonly text: string
  /** The file read, or null for an inline value. */
  readonly path: string | null
}

/**
 * Reads `name` or the file `${name}_FILE` names. Undefined when neither is set (or the inline
 * value is blank); null when set but unusable (the problem is recorded). A file that is empty or
 * holds only white space is a problem: a truncating write in progress must never read as "none".
 */
export function readSource(
  env: Env,
  name: string,
  readFile: ReadFile,
  findings: Findings,
): Source | null | undefined {
  const fileVariable = `${name}_FILE`
  const inline = env[name]
  const path = env[fileVariable]
  if (inline !== undefined && path !== undefined) {
    findings.problem(`${name}: set either ${name} or ${fileVariable}, not both`)
    return null
  }
  if (path === undefined) {
    return inline === undefined || inline.trim() === ''
      ? undefined
      : { variable: name, text: inline, path: null }
  }
  let text: string
  try {
    text = readFile(path)
  } catch (error) {
    findings.problem(`${fileVariable}: cannot read ${path}: ${fileProblem(error)}`)
    return null
  }
  if (text.trim() === '') {
    findings.problem(
      `${fileVariable}: ${path} is ${text === '' ? 'empty' : 'only white space'}; an empty file is never read as "nothing configured"`,
    )
    return null
  }
  return { variable: fileVariable, text, path }
}

/**
 * The default ReadFile: a regular file of at most MAX_FILE_BYTES, as UTF-8. Checked before
 * reading, so a FIFO cannot block the process and /dev/zero cannot fill its memory.
 */
export function readConfigFile(path: string): string {
  const stats = statSync(path)
  if (stats.isDirectory()) throw Object.assign(new Error('a folder'), { code: 'EISDIR' })
  if (!stats.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOTFILE' })
  const fd = openSync(path, 'r')
  try {
    const { size } = fstatSync(fd)
    if (size > MAX_FILE_BYTES) throw Object.assign(new Error('too large'), { code: 'EFBIG', size })
    return readFileSync(fd, 'utf8')
  } finally {
    closeSync(fd)
  }
}

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file (ENOENT)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'permission denied (EPERM)',
  EISDIR: 'it is a folder, not a file (EISDIR)',
  ENOTDIR: 'a part of the path is not a folder (ENOTDIR)',
  ELOOP: 'too many symbolic links, or a loop (ELOOP)',
  ENOTFILE: 'not a regular file (a device, FIFO or socket)',
  EFBIG: `larger than ${MAX_FILE_BYTES} bytes (EFBIG)`,
}

/** Why a file could not be read, in words and with its code; never the file's content. */
export function fileProblem(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return 'unreadable'
  const reason = REASONS[code] ?? `(${code})`
  if (code !== 'EACCES' && code !== 'EPERM') return reason
  // Who the service runs as is what to compare with the file's owner and mode.
  const uid = process.getuid?.()
  const gid = process.getgid?.()
  return uid === undefined ? reason : `${reason}; the service runs as uid ${uid}, gid ${gid}`
}
