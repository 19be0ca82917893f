// Keeps WEB_CONCURRENCY workers running: forks them, replaces each that dies, and backs off when
// replacements keep dying before they listen. The primary never dies of a worker's death; it
// gives up only when no worker serves at all and none can start (a broken build, say), so that
// the failure is seen and the orchestrator restarts it.
import cluster, { type Worker } from 'node:cluster'
import type { Logger } from '../logger.js'

/** More start failures than this within START_FAILURE_WINDOW_MS, with no worker serving: stop. */
export const MAX_START_FAILURES = 10
export const START_FAILURE_WINDOW_MS = 60_000
/** The first delay before replacing a worker that died before it listened; it doubles, up to the max. */
export const BACKOFF_FIRST_MS = 500
export const BACKOFF_MAX_MS = 30_000

export interface Supervisor {
  /** Workers alive now (connected or not). */
  readonly workers: () => Worker[]
  /** Workers that have listened: they serve. */
  readonly serving: () => Worker[]
  /** No more replacements (the primary is stopping). */
  readonly stop: () => void
  /** The worker said it listens (messages.ts: LISTENING). */
  readonly listening: (worker: Worker) => void
}

export function supervise(
  count: number,
  deps: {
    readonly logger: Logger
    /** Called for each new worker, before it can send anything. */
    readonly onFork: (worker: Worker) => void
    /** Called when a worker exits, before it is replaced. */
    readonly onExit: (worker: Worker) => void
  },
): Supervisor {
  const { logger } = deps
  const listened = new WeakSet<Worker>()
  const startFailures: number[] = []
  let consecutiveFailures = 0
  let stopping = false

  const workers = () =>
    Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
  const serving = () => workers().filter((w) => listened.has(w) && w.isConnected())

  const fork = () => {
    if (stopping) return
    const worker = cluster.fork()
    // Without a listener, an 'error' event (node:cluster's own sends to a worker that just died
    // included) is thrown, and would end the primary.
    worker.on('error', (error) =>
      logger.warn({ pid: worker.process.pid, err: error }, 'worker IPC error'),
    )
    deps.onFork(worker)
  }

  cluster.on('exit', (worker, code, signal) => {
    deps.onExit(worker)
    if (stopping) return
    const didListen = listened.has(worker)
    let delayMs = 0
    if (!didListen) {
      const now = Date.now()
      startFailures.push(now)
      while ((startFailures[0] ?? now) < now - START_FAILURE_WINDOW_MS) startFailures.shift()
      consecutiveFailures += 1
      if (startFailures.length > MAX_START_FAILURES && serving().length === 0) {
        logger.fatal(
          { failures: startFailures.length, windowMs: START_FAILURE_WINDOW_MS },
          'workers keep dying before they listen, and none serves; stopping',
        )
        process.exit(1)
      }
      delayMs = Math.min(BACKOFF_FIRST_MS * 2 ** (consecutiveFailures - 1), BACKOFF_MAX_MS)
    }
    logger.error(
      { pid: worker.process.pid, code, signal, listened: didListen, delayMs },
      'worker died; starting a new one',
    )
    if (delayMs === 0) fork()
    else setTimeout(fork, delayMs)
  })

  for (let i = 0; i < count; i++) fork()
  return {
    workers,
    serving,
    stop: () => {
      stopping = true
    },
    listening: (worker) => {
      listened.add(worker)
      consecutiveFailures = 0
    },
  }
}
