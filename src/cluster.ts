// Several workers on one port (node:cluster): the primary forks, replaces workers that die,
// forwards signals, and answers a worker's /metrics with the metrics of every worker that
// answered in time. A worker that dies or stalls must never take the primary down with it: every
// IPC send checks the channel and handles its error, and every wait has a deadline.
import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry, Gauge, type Registry } from 'prom-client'
import type { ProcessSettings } from './config/index.js'
import type { Logger } from './logger.js'
import { stopWithNpm } from './npm-parent.js'

// worker -> primary: "the cluster's metrics, please"; primary -> worker: the text (or null).
const CLUSTER_REQUEST = 'usersig:cluster-metrics-request'
const CLUSTER_REPLY = 'usersig:cluster-metrics-reply'
// primary -> each worker: "your own metrics, please"; worker -> primary: its registry as JSON.
const OWN_REQUEST = 'usersig:worker-metrics-request'
const OWN_REPLY = 'usersig:worker-metrics-reply'
// worker -> primary: "I cannot listen" (the port is taken, say), with the one line to print.
const LISTEN_FAILED = 'usersig:listen-failed'

/**
 * How long the primary waits for the workers' own metrics. A live worker answers in
 * milliseconds, even under load; one that has not answered by then is stalled (stopped, stuck in
 * a long task), and the scrape goes ahead without it rather than waiting for Prometheus to give up.
 */
export const COLLECT_DEADLINE_MS = 2_000
/** How long a scraped worker waits for the primary: past COLLECT_DEADLINE_MS, so it gets the partial answer. */
export const PRIMARY_WAIT_MS = 5_000
/**
 * More workers than this dying before they listen, within CRASH_WINDOW_MS, means none can start
 * (port taken, a broken build): the primary gives up, so the failure is seen. A worker that dies
 * after it listened is always replaced: the primary never dies of a worker's death.
 */
const MAX_START_FAILURES = 10
const CRASH_WINDOW_MS = 60_000

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>
interface Message {
  type?: unknown
  id?: unknown
  text?: unknown
  metrics?: unknown
}

/**
 * Runs the primary: forks `count` workers and keeps them running until SIGTERM or SIGINT.
 * `startLine`: what the primary's first log line says about the process and its configuration.
 */
export function runPrimary(
  count: number,
  config: ProcessSettings,
  logger: Logger,
  startLine: Readonly<Record<string, unknown>>,
): void {
  let stopping = false
  const startFailures: number[] = []
  const listened = new WeakSet<Worker>()
  /** Scrapes in progress: the workers still to answer, and the answers so far. */
  const collections = new Map<
    number,
    { waiting: Set<Worker>; replies: MetricsJson[]; done(): void }
  >()
  let nextCollection = 0

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

  /** This worker will not answer any scrape in progress (it died, or a send to it failed). */
  const giveUpOn = (worker: Worker) => {
    for (const collection of collections.values())
      if (collection.waiting.delete(worker) && collection.waiting.size === 0) collection.done()
  }

  /** Every live worker's metrics that arrive by the deadline, summed, and how many are missing. */
  const collect = (): Promise<string> =>
    new Promise<{ replies: MetricsJson[] }>((resolve) => {
      const id = nextCollection++
      const collection = {
        waiting: new Set<Worker>(),
        replies: [] as MetricsJson[],
        done: () => {
          clearTimeout(timer)
          collections.delete(id)
          resolve(collection)
        },
      }
      const timer = setTimeout(collection.done, COLLECT_DEADLINE_MS)
      collections.set(id, collection)
      // A worker still starting has no listener for the request yet: it would only cost the deadline.
      for (const worker of liveWorkers().filter((w) => listened.has(w)))
        if (send(worker, { type: OWN_REQUEST, id }, () => giveUpOn(worker)))
          collection.waiting.add(worker)
      if (collection.waiting.size === 0) collection.done()
    }).then(({ replies }) => {
      const registry = AggregatorRegistry.aggregate(replies)
      // A gauge, not a comment: Prometheus reads it, so a partial scrape (whose summed counters
      // dip, which rate() takes for a reset) can be seen and alerted on.
      new Gauge({
        name: 'usersig_cluster_workers_answered',
        help: 'Workers whose metrics are in this scrape (node:cluster).',
        registers: [registry],
      }).set(replies.length)
      new Gauge({
        name: 'usersig_cluster_workers_unanswered',
        help: `Workers (of WEB_CONCURRENCY) missing from this scrape: stalled past ${COLLECT_DEADLINE_MS} ms, dead, or restarting. Sums here lack their counts.`,
        registers: [registry],
      }).set(Math.max(0, count - replies.length))
      return registry.metrics()
    })

  const fork = (): Worker => {
    const worker = cluster.fork()
    // Without a listener, an 'error' event (node:cluster's own sends to a worker that just died
    // included) is thrown, and would end the primary.
    worker.on('error', (error) =>
      logger.warn({ pid: worker.process.pid, err: error }, 'worker IPC error'),
    )
    worker.on('message', (message: Message) => {
      if (message?.type === LISTEN_FAILED && typeof message.text === 'string') {
        // Every worker would fail alike, and a replacement too: one line, and the primary stops.
        if (stopping) return
        stopping = true
        process.stderr.write(`${message.text}\n`)
        for (const other of liveWorkers()) other.kill()
        process.exit(1)
      } else if (message?.type === OWN_REPLY && typeof message.id === 'number') {
        const collection = collections.get(message.id)
        if (collection?.waiting.delete(worker) !== true) return // late: that scrape went ahead
        if (Array.isArray(message.metrics)) collection.replies.push(message.metrics as MetricsJson)
        if (collection.waiting.size === 0) collection.done()
      } else if (message?.type === CLUSTER_REQUEST && typeof message.id === 'number') {
        const id = message.id
        collect().then(
          (text) => send(worker, { type: CLUSTER_REPLY, id, text }),
          (error: unknown) => {
            logger.error({ err: error }, 'cluster metrics failed')
            send(worker, { type: CLUSTER_REPLY, id, text: null })
          },
        )
      }
    })
    return worker
  }

  cluster.on('listening', (worker) => listened.add(worker))
  cluster.on('disconnect', giveUpOn)
  cluster.on('exit', (worker, code, signal) => {
    giveUpOn(worker)
    if (stopping) return
    if (!listened.has(worker)) {
      const now = Date.now()
      startFailures.push(now)
      while ((startFailures[0] ?? now) < now - CRASH_WINDOW_MS) startFailures.shift()
      if (startFailures.length > MAX_START_FAILURES) {
        logger.fatal(
          { failures: startFailures.length, windowMs: CRASH_WINDOW_MS },
          'workers keep dying before they listen; stopping',
        )
        process.exit(1)
      }
    }
    logger.error(
      { pid: worker.process.pid, code, signal, listened: listened.has(worker) },
      'worker died; starting a new one',
    )
    fork()
  })

  for (let i = 0; i < count; i++) fork()
  logger.info({ ...startLine, workers: count }, 'primary started')

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping workers')
    const workers = liveWorkers()
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
  stopWithNpm(() => stop('SIGTERM'))
  // Reload: every worker re-reads its configuration.
  process.on('SIGHUP', () => {
    for (const worker of liveWorkers()) worker.process.kill('SIGHUP')
  })
}

function liveWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
}

/**
 * A process that cannot listen says so in one line and exits 1. A worker hands the line to the
 * primary, which prints it once for all workers and stops, instead of replacing workers that
 * would fail the same way.
 */
export function exitCannotListen(text: string): void {
  if (cluster.isWorker && process.send !== undefined && process.connected) {
    process.send({ type: LISTEN_FAILED, text }, () => process.exit(1))
    return
  }
  process.stderr.write(`${text}\n`)
  process.exit(1)
}

/**
 * In a worker: answers the primary's requests for this worker's registry, and returns the
 * function /metrics uses to fetch the whole cluster's metrics from the primary. Never throws if
 * the primary is gone (the worker exits on its own then: node:cluster disconnects it).
 */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
  const toPrimary = (message: object, onError?: () => void): boolean => {
    if (process.send === undefined || !process.connected) return false
    process.send(message, (error: Error | null) => {
      if (error !== null) onError?.()
    })
    return true
  }
  let next = 0
  const waiting = new Map<number, (text: string | null) => void>()
  process.on('message', (message: Message) => {
    if (message?.type === OWN_REQUEST) {
      const id = message.id
      registry.getMetricsAsJSON().then(
        (metrics) => toPrimary({ type: OWN_REPLY, id, metrics }),
        // Answer anyway, so the primary need not wait for its deadline; it counts this worker missing.
        () => toPrimary({ type: OWN_REPLY, id, metrics: null }),
      )
    } else if (message?.type === CLUSTER_REPLY && typeof message.id === 'number') {
      waiting.get(message.id)?.(typeof message.text === 'string' ? message.text : null)
    }
  })
  return () =>
    new Promise((resolve, reject) => {
      const id = next++
      const settle = (text: string | null) => {
        clearTimeout(timer)
        waiting.delete(id)
        if (text === null) reject(new Error('cluster metrics unavailable'))
        else resolve(text)
      }
      const timer = setTimeout(() => settle(null), PRIMARY_WAIT_MS)
      waiting.set(id, settle)
      if (!toPrimary({ type: CLUSTER_REQUEST, id }, () => settle(null))) settle(null)
    })
}
