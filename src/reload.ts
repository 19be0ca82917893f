// Reloading the policy (apps, keys, callers, the JWT secret) without a restart: on SIGHUP, and
// when a *_FILE changes. The process settings never reload (LiveConfig swaps only the policy).
import { createHash } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import {
  ConfigError,
  SECRET_FILE_VARIABLES,
  WARNINGS,
  type Config,
  type Env,
  type Policy,
  type ReadFile,
} from './config/index.js'
import type { LiveConfig } from './live-config.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'

/** Changes closer together than this are one reload (a Secret update touches several files). */
export const RELOAD_DEBOUNCE_MS = 250

export type ReloadOutcome = 'success' | 'unchanged' | 'rejected'

export interface Reloader {
  /** Re-reads the policy and swaps it in whole, or keeps the one in force if it is invalid. */
  reload(reason: string): ReloadOutcome
}

/** What a load read: each file's text by path, in the order read (secrets: never logged). */
export type FilesRead = Readonly<Record<string, string>>

/** A reader that records every file it reads: what was read, and a digest of it. */
export function recordReads(readFile: ReadFile): {
  read: ReadFile
  files: () => FilesRead
  digest: () => string
} {
  const files: Record<string, string> = {}
  const hash = createHash('sha256')
  return {
    read(path) {
      const text = readFile(path)
      hash.update(path).update('\0').update(text).update('\0')
      files[path] = text
      return text
    },
    files: () => Object.freeze({ ...files }),
    digest: () => hash.copy().digest('hex'),
  }
}

/**
 * Runs `load` with a reader that records every file it reads, and returns what it loaded with
 * those files and their digest: a later read with the same digest read the same configuration.
 */
export function readRecorded<T>(
  readFile: ReadFile,
  load: (read: ReadFile) => T,
): { value: T; digest: string; files: FilesRead } {
  const recorder = recordReads(readFile)
  const value = load(recorder.read)
  return { value, digest: recorder.digest(), files: recorder.files() }
}

/**
 * A ReadFile over files read elsewhere (a worker's, from its primary): a path that is not among
 * them fails as a missing file would.
 */
export function readFrom(files: FilesRead): ReadFile {
  return (path) => {
    const text = files[path]
    if (text === undefined) throw Object.assign(new Error('not read'), { code: 'ENOENT' })
    return text
  }
}

/**
 * `baseline` is the digest of the very read that built the configuration in force at start, so a
 * change made after that read is always seen as one, whenever it lands.
 */
export function createReloader(deps: {
  live: LiveConfig
  baseline: string
  load: (read: ReadFile) => Policy
  readFile: ReadFile
  logger: Logger
  metrics: Pick<Metrics, 'reloads'>
  /** After a successful reload: the files it read (a cluster primary hands them to its workers). */
  onReloaded?: (files: FilesRead) => void
}): Reloader {
  const { live, logger, metrics } = deps
  let lastDigest = deps.baseline
  return {
    reload(reason) {
      let next
      try {
        next = readRecorded(deps.readFile, deps.load)
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error
        // The problems name variables, apps and ids, never values: safe to log.
        logger.error(
          { reason, generation: live.generation, problems: error.problems },
          'configuration reload rejected; the previous configuration stays in force',
        )
        metrics.reloads.inc({ outcome: 'rejected' })
        return 'rejected'
      }
      // A development default generates fresh keys each time it loads: keep the one in force.
      if (
        next.digest === lastDigest ||
        (next.value.devDefault !== null && live.current.policy.devDefault !== null)
      ) {
        logger.info({ reason, generation: live.generation }, 'configuration unchanged')
        metrics.reloads.inc({ outcome: 'unchanged' })
        return 'unchanged'
      }
      lastDigest = next.digest
      live.swap(next.value)
      logger.info(
        { reason, generation: live.generation, apps: appKeys(live.current) },
        'configuration reloaded',
      )
      logWarnings(logger, live.current)
      metrics.reloads.inc({ outcome: 'success' })
      deps.onReloaded?.(next.files)
      return 'success'
    },
  }
}

/** Each app's signing key and every key id, for the log (ids only, never a secret). */
export function appKeys(
  config: Config,
): { sdkAppId: number; primaryKeyId: string; keyIds: string[] }[] {
  return [...config.policy.apps.values()].map((app) => ({
    sdkAppId: app.sdkAppId,
    primaryKeyId: app.signingKey.id,
    keyIds: app.keys.map((key) => key.id),
  }))
}

/** One line per warning: its stable code in `warning`, and in `fix` what to do (docs/operations.md says more). */
export function logWarnings(logger: Logger, config: Config): void {
  for (const { warning, message } of [...config.process.warnings, ...config.policy.warnings])
    logger.warn({ warning, fix: WARNINGS[warning] }, message)
}

/**
 * Watches the folders of the configured files. A Kubernetes Secret volume updates by swapping a
 * `..data` symlink, which a watch on the file itself would miss; a watch on its folder sees it.
 * Returns the watchers, and the folders that could not be watched (reload those with SIGHUP).
 */
export function watchConfigFiles(
  env: Env,
  onChange: () => void,
): { watchers: FSWatcher[]; unwatched: { folder: string; code: unknown }[] } {
  return watchFolders(
    SECRET_FILE_VARIABLES.map((name) => env[name]).filter(
      (path): path is string => path !== undefined,
    ),
    onChange,
  )
}

/**
 * Watches the folders of `paths`; `onChange` runs RELOAD_DEBOUNCE_MS after the last change.
 * `onlyTheirs`: react only to changes of those files, or of a Kubernetes Secret volume's `..`
 * entries (`..data` and the folders it points to), not to other files in the same folder.
 */
export function watchFolders(
  paths: readonly string[],
  onChange: () => void,
  { onlyTheirs = false } = {},
): { watchers: FSWatcher[]; unwatched: { folder: string; code: unknown }[] } {
  let timer: NodeJS.Timeout | undefined
  const names = new Set(paths.map((path) => basename(path)))
  const debounced = (_event: string, name: string | null) => {
    if (onlyTheirs && name !== null && !names.has(name) && !name.startsWith('..')) return
    clearTimeout(timer)
    timer = setTimeout(onChange, RELOAD_DEBOUNCE_MS)
  }
  const watchers: FSWatcher[] = []
  const unwatched: { folder: string; code: unknown }[] = []
  for (const folder of new Set(paths.map((path) => dirname(path)))) {
    try {
      watchers.push(watch(folder, { persistent: false }, debounced))
    } catch (error) {
      unwatched.push({ folder, code: (error as { code?: unknown }).code })
    }
  }
  return { watchers, unwatched }
}
