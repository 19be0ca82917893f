// The node:cluster primary supervises, nothing more: it holds no connection (the workers listen
// and accept themselves: worker.ts's REUSE_PORT), keeps the workers running (supervisor.ts), holds
// the policy they serve (policy.ts), counts the machine's rate limits for them
// (rate-limiter-flexible's cluster master), answers /metrics for the whole cluster (metrics.ts),
// and forwards signals. Every IPC send checks the channel and handles its error, and every wait
// has a deadline: a worker that dies or stalls never takes the primary down.
import cluster, { type Worker } from 'node:cluster'
import { Counter, Registry } from 'prom-client'
import type { Config, Env } from '../config/index.js'
import type { Logger } from '../logger.js'
import { stopWithNpm } from '../npm-parent.js'
import { serveClusterCounts } from '../rate-limit/index.js'
import type { FilesRead } from '../reload.js'
import {
  CLUSTER_METRICS_REPLY,
  CLUSTER_METRICS_REQUEST,
  LISTEN_FAILED,
  LISTENING,
  POLICY_REQUEST,
  RELOAD_REQUEST,
  RELOAD_TLS,
  type Message,
} from './messages.js'
import { clusterMetrics } from './metrics.js'
import { keepPolicy } from './policy.js'
import { supervise } from './supervisor.js'
import { REUSE_PORT } from './worker.js'

export interface PrimaryDeps {
  readonly env: Env
  /** The start's read of the configuration (main.ts): what the first workers serve. */
  readonly first: { value: Config; digest: string; files: FilesRead }
  readonly logger: Logger
  /** What the primary's first log line says about the process and its configuration. */
  readonly startLine: Readonly<Record<string, unknown>>
  /** main.ts's configuration-file watchers call this on a change. */
  readonly onFileChange: (reload: () => void) => void
}

/** Runs the primary: forks WEB_CONCURRENCY workers and keeps them running until SIGTERM or SIGINT. */
export function runPrimary(deps: PrimaryDeps): void {
  const { logger, first } = deps
  const settings = first.value.process
  // Without reusePort, workers accept on the shared socket themselves: the primary never holds a
  // connection it could lose when the worker it was meant for dies.
  if (!REUSE_PORT) cluster.schedulingPolicy = cluster.SCHED_NONE
  if (settings.rateLimitScope === 'machine') serveClusterCounts()

  const own = new Registry()
  const reloads = new Counter({
    name: 'usersig_config_reloads_total',
    help: 'Configuration reloads by outcome (success, rejected: the new config failed validation and the old one stays).',
    labelNames: ['outcome'],
    registers: [own],
  })

  /** Sends if the channel is open; a send that fails (the worker died meanwhile) is logged, not thrown. */
  const send = (worker: Worker, message: object, onError?: () => void): boolean => {
    if (!worker.isConnected()) return false
    worker.send(message, (error) => {
      if (error === null) return
      logger.warn({ pid: worker.process.pid, err: error }, 'worker unreachable; message dropped')
      onError?.()
    })
    return true
  }

  let stopping = false
  const supervisor = supervise(settings.workers, {
    logger,
    onFork: (worker) => worker.on('message', (message: Message) => onMessage(worker, message)),
    onExit: (worker) => metrics.forget(worker),
  })
  const metrics = clusterMetrics({
    workers: supervisor.serving,
    expected: settings.workers,
    own,
    send,
  })
  const policy = keepPolicy({
    env: deps.env,
    first,
    logger,
    metrics: { reloads },
    workers: supervisor.workers,
    send,
  })
  deps.onFileChange(() => policy.reload('file changed'))
  cluster.on('disconnect', metrics.forget)

  function onMessage(worker: Worker, message: Message): void {
    switch (message?.type) {
      case POLICY_REQUEST:
        return policy.handTo(worker)
      case LISTENING:
        return supervisor.listening(worker)
      case RELOAD_REQUEST:
        return policy.reload('SIGHUP to a worker')
      case CLUSTER_METRICS_REQUEST: {
        const id = message.id
        if (typeof id !== 'number') return
        metrics.collect().then(
          (text) => void send(worker, { type: CLUSTER_METRICS_REPLY, id, text }),
          (error: unknown) => {
            logger.error({ err: error }, 'cluster metrics failed')
            send(worker, { type: CLUSTER_METRICS_REPLY, id, text: null })
          },
        )
        return
      }
      case LISTEN_FAILED:
        // Every worker would fail alike, and a replacement too: one line, and the primary stops.
        if (stopping || typeof message.text !== 'string') return
        stopping = true
        supervisor.stop()
        process.stderr.write(`${message.text}\n`)
        for (const other of supervisor.workers()) other.kill()
        process.exit(1)
        return
      default:
        metrics.onMessage(worker, message)
    }
  }

  logger.info(
    { ...deps.startLine, workers: settings.workers, reusePort: REUSE_PORT },
    'primary started',
  )

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    supervisor.stop()
    logger.info({ signal }, 'stopping workers')
    const workers = supervisor.workers()
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
      settings.shutdownDelayMs + settings.shutdownTimeoutMs + 2_000,
    ).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  stopWithNpm(() => stop('SIGTERM'))
  process.on('SIGHUP', () => {
    policy.reload('SIGHUP')
    for (const worker of supervisor.workers()) send(worker, { type: RELOAD_TLS })
  })
}
