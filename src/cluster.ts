// Several workers on one port (node:cluster): the primary forks, replaces crashed workers,
// forwards signals, and aggregates every worker's metrics for whichever worker is scraped.
import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'
import type { Config } from './config.js'
import type { Logger } from './logger.js'

const METRICS_REQUEST = 'usersig:metrics-request'
const METRICS_REPLY = 'usersig:metrics-reply'
/** More crashes than this within CRASH_WINDOW_MS means something is wrong with every worker: give up. */
const MAX_CRASHES = 10
const CRASH_WINDOW_MS = 60_000

/** Runs the primary: forks `count` workers and keeps them running until SIGTERM or SIGINT. */
export function runPrimary(count: number, config: Config, logger: Logger): void {
  const aggregator = new AggregatorRegistry()
  let stopping = false
  const crashes: number[] = []

  const fork = (): Worker => {
    const worker = cluster.fork()
    // A worker asks for the cluster-wide metrics; the primary collects them from every worker.
    worker.on('message', (message: { type?: string; id?: number }) => {
      if (message?.type !== METRICS_REQUEST) return
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS_REPLY, id: message.id, text }),
        (error: unknown) => {
          logger.error({ err: error }, 'cluster metrics failed')
          worker.send({ type: METRICS_REPLY, id: message.id, text: null })
        },
      )
    })
    return worker
  }

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    const now = Date.now()
    crashes.push(now)
    while (crashes.length > 0 && (crashes[0] as number) < now - CRASH_WINDOW_MS) crashes.shift()
    logger.error(
      { pid: worker.process.pid, code, signal, crashes: crashes.length },
      'worker died; starting a new one',
    )
    if (crashes.length > MAX_CRASHES) {
      logger.fatal(
        { crashes: crashes.length, windowMs: CRASH_WINDOW_MS },
        'workers keep dying; stopping',
      )
      process.exit(1)
    }
    fork()
  })

  for (let i = 0; i < count; i++) fork()
  logger.info({ workers: count, port: config.port }, 'primary started')

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping workers')
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
    let failed = false
    let left = workers.length
    if (left === 0) process.exit(0)
    for (const worker of workers) {
      worker.on('exit', (code) => {
        failed ||= code !== 0
        if (--left === 0) process.exit(failed ? 1 : 0)
      })
      // Each worker drains on its own: readiness 503, then close, in-flight requests finish.
      worker.process.kill(signal)
    }
    setTimeout(
      () => {
        logger.error('workers did not stop in time')
        process.exit(1)
      },
      config.shutdownDelayMs + config.shutdownTimeoutMs + 2_000,
    ).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // Reload: every worker re-reads its configuration.
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP')
  })
}

/**
 * In a worker: lets the primary read this worker's registry, and returns the function /metrics
 * uses to fetch the whole cluster's metrics from the primary.
 */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
  // Constructing one installs prom-client's worker-side listener; the registry is ours, not global.
  new AggregatorRegistry()
  AggregatorRegistry.setRegistries([registry])
  let next = 0
  const waiting = new Map<number, (text: string | null) => void>()
  process.on('message', (message: { type?: string; id?: number; text?: string | null }) => {
    if (message?.type !== METRICS_REPLY || message.id === undefined) return
    waiting.get(message.id)?.(message.text ?? null)
    waiting.delete(message.id)
  })
  return () =>
    new Promise((resolve, reject) => {
      const id = next++
      const timer = setTimeout(() => {
        waiting.delete(id)
        reject(new Error('cluster metrics timed out'))
      }, 5_000)
      waiting.set(id, (text) => {
        clearTimeout(timer)
        if (text === null) reject(new Error('cluster metrics failed'))
        else resolve(text)
      })
      process.send?.({ type: METRICS_REQUEST, id })
    })
}
