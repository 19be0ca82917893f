// Reloading apps, keys and callers without a restart: on SIGHUP and when a *_FILE changes.
import { createHash } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import { ConfigError, type Config } from './config.js'
import type { LiveConfig } from './live-config.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'

/** Variables whose files are watched. */
export const WATCHED_FILE_VARIABLES = [
  'USERSIG_APPS_FILE',
  'USERSIG_CLIENTS_FILE',
  'USERSIG_JWT_SECRET_FILE',
] as const
/** Changes closer together than this are one reload (a Secret update touches several files). */
export const RELOAD_DEBOUNCE_MS = 250

export type ReloadOutcome = 'success' | 'unchanged' | 'rejected'

export interface Reloader {
  /** Re-reads the configuration and swaps it in whole, or keeps the old one if it is invalid. */
  reload(reason: string): ReloadOutcome
}

/**
 * `load` reads the configuration and reports the text of every source it read, so that a reload
 * whose sources did not change (a watcher firing twice) keeps the same generation.
 */
export function createReloader(deps: {
  live: LiveConfig
  load: (read: (path: string) => string) => Config
  readFile: (path: string) => string
  logger: Logger
  metrics: Metrics
}): Reloader {
  let lastDigest: string | null = null
  const loadRecording = (): { config: Config; digest: string } => {
    const hash = createHash('sha256')
    const config = deps.load((path) => {
      const text = deps.readFile(path)
      hash.update(path).update('\0').update(text).update('\0')
      return text
    })
    return { config, digest: hash.digest('hex') }
  }
  try {
    lastDigest = loadRecording().digest
  } catch {
    lastDigest = null
  }
  return {
    reload(reason) {
      let next
      try {
        next = loadRecording()
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error
        // The problems name variables, apps and ids, never values: safe to log.
        deps.logger.error(
          { reason, problems: error.problems },
          'configuration reload rejected; the previous configuration stays in force',
        )
        deps.metrics.reloads.inc({ outcome: 'rejected' })
        return 'rejected'
      }
      // A development default generates fresh keys each time it loads: keep the one in force.
      if (
        next.digest === lastDigest ||
        (next.config.devDefault !== null && deps.live.current.devDefault !== null)
      ) {
        deps.logger.info({ reason, generation: deps.live.generation }, 'configuration unchanged')
        deps.metrics.reloads.inc({ outcome: 'unchanged' })
        return 'unchanged'
      }
      lastDigest = next.digest
      deps.live.swap(next.config)
      const keyIds = [...next.config.apps.values()].flatMap((app) =>
        app.keys.map((key) => `${app.sdkAppId}/${key.id}`),
      )
      deps.logger.info(
        { reason, generation: deps.live.generation, keyIds },
        'configuration reloaded',
      )
      deps.metrics.reloads.inc({ outcome: 'success' })
      return 'success'
    },
  }
}

/**
 * Watches the folders of the configured files. A Kubernetes Secret volume updates by swapping a
 * `..data` symlink, which a watch on the file itself would miss; a watch on its folder sees it.
 */
export function watchConfigFiles(
  env: Readonly<Record<string, string | undefined>>,
  onChange: () => void,
  logger: Logger,
): FSWatcher[] {
  const folders = new Set(
    WATCHED_FILE_VARIABLES.map((name) => env[name])
      .filter((path): path is string => path !== undefined)
      .map((path) => dirname(path)),
  )
  let timer: NodeJS.Timeout | undefined
  const debounced = () => {
    clearTimeout(timer)
    timer = setTimeout(onChange, RELOAD_DEBOUNCE_MS)
  }
  const watchers: FSWatcher[] = []
  for (const folder of folders) {
    try {
      watchers.push(watch(folder, { persistent: false }, debounced))
    } catch (error) {
      logger.warn({ folder, err: error }, 'cannot watch a configuration folder; reload with SIGHUP')
    }
  }
  return watchers
}
