// Who else can read or replace a secret file. Production warns when anyone but the service can
// read a file of keys or tokens, or replace it. A Kubernetes Secret volume mounts its files as
// symlinks into a `..data` folder: the file and the folder that really holds it are checked, and a
// read-only mount (a Secret volume always is) cannot be written by anyone.
import { accessSync, constants, realpathSync, statSync, type Stats } from 'node:fs'
import { dirname } from 'node:path'
import type { Findings } from './findings.js'
import type { Env } from './sources.js'

/** The variables that name files holding keys, tokens or a JWT secret. */
export const SECRET_FILE_VARIABLES = [
  'USERSIG_APPS_FILE',
  'USERSIG_CLIENTS_FILE',
  'USERSIG_JWT_SECRET_FILE',
  'USERSIG_METRICS_TOKEN_FILE',
] as const

/** Warns (in production) about each secret file others may read or replace. */
export function checkSecretFiles(env: Env, findings: Findings): void {
  for (const variable of SECRET_FILE_VARIABLES) {
    const path = env[variable]
    if (path !== undefined) checkSecretFile(variable, path, findings)
  }
}

/** Warns (in production) when others may read or replace the file `variable` names. */
export function checkSecretFile(variable: string, path: string, findings: Findings): void {
  if (!findings.production) return
  for (const exposure of exposures(path))
    findings.warn('secret_file_permissions', `${variable}: ${exposure}`)
}

/** What is wrong with the file's and its folders' modes, in words; nothing if it cannot be seen. */
function exposures(path: string): string[] {
  let file: Stats
  let real: string
  try {
    file = statSync(path)
    real = realpathSync(path)
  } catch {
    return [] // reading it fails, and says why
  }
  const found: string[] = []
  const mode = octal(file.mode)
  if (file.mode & 0o006) {
    found.push(`${path} is ${access(file.mode & 0o006)} by every user (mode ${mode}): chmod o-rw`)
  } else if (file.mode & 0o060 && file.uid === process.getuid?.()) {
    // The service owns the file, so its group needs no access. When another user owns it (a
    // Kubernetes Secret: root, with fsGroup), the group is how the service reads it: fine.
    found.push(
      `${path} is ${access((file.mode & 0o060) >> 3)} by its group, gid ${file.gid} (mode ${mode}), though the service reads it as its owner: chmod g-rw`,
    )
  }
  for (const folder of new Set([dirname(path), dirname(real)])) {
    let stats: Stats
    try {
      stats = statSync(folder)
    } catch {
      continue
    }
    if (stats.mode & 0o002 && !readOnly(folder)) {
      found.push(
        `its folder ${folder} is writable by every user (mode ${octal(stats.mode)}): anyone can replace the file; chmod o-w`,
      )
    }
  }
  return found
}

function access(bits: number): string {
  return bits === 0o006 ? 'readable and writable' : bits & 0o004 ? 'readable' : 'writable'
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`
}

/** A read-only mount: nobody can replace files there, whatever the mode says. */
function readOnly(folder: string): boolean {
  try {
    accessSync(folder, constants.W_OK)
    return false
  } catch (error) {
    return (error as { code?: unknown }).code === 'EROFS'
  }
}
