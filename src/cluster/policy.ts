// The primary holds the policy its workers serve: it alone reads the configuration files (at
// start, on SIGHUP, when a file changes), validates what it read, and hands the files of the last
// good read to every worker, to a replacement worker too. So a file that was rejected is never
// what a worker starts from, and all workers serve one generation.
import type { Worker } from 'node:cluster'
import { loadPolicy, readConfigFile, type Config, type Env } from '../config/index.js'
import { LiveConfig } from '../live-config.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import { createReloader, type FilesRead } from '../reload.js'
import { POLICY } from './messages.js'

export interface PolicyKeeper {
  /** Re-reads the files; when they load, every worker is handed them. */
  readonly reload: (reason: string) => void
  /** Hands `worker` the policy in force. */
  readonly handTo: (worker: Worker) => void
}

export function keepPolicy(deps: {
  readonly env: Env
  /** The start's read: the configuration, its files and their digest. */
  readonly first: { value: Config; digest: string; files: FilesRead }
  readonly logger: Logger
  readonly metrics: Pick<Metrics, 'reloads'>
  readonly workers: () => readonly Worker[]
  readonly send: (worker: Worker, message: object) => boolean
}): PolicyKeeper {
  const { first, logger } = deps
  const live = new LiveConfig(first.value)
  // The process settings' files (USERSIG_REDIS_URL_FILE) as read at start, the policy's as last
  // reloaded: what a replacement worker reads its whole configuration from.
  let files: FilesRead = first.files
  const message = () => ({ type: POLICY, files, generation: live.generation })
  const reloader = createReloader({
    live,
    baseline: first.digest,
    load: (read) => loadPolicy(deps.env, first.value.process.jwt, read),
    readFile: readConfigFile,
    logger,
    metrics: deps.metrics,
    onReloaded: (read) => {
      files = Object.freeze({ ...files, ...read })
      for (const worker of deps.workers()) deps.send(worker, message())
    },
  })
  return {
    reload: (reason) => void reloader.reload(reason),
    handTo: (worker) => void deps.send(worker, message()),
  }
}
