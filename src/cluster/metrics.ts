// The primary's /metrics: every listening worker's registry, summed with the primary's own (its
// reload outcomes), and gauges saying how many workers answered. A worker that stalls or dies
// costs a scrape at most the deadline. Concurrent scrapes share one collection, and a collection
// serves every scrape for METRICS_CACHE_MS after it: a flood of scrapes costs one collection per
// interval, not one per scrape, so it cannot starve ticket issuance.
import type { Worker } from 'node:cluster'
import { AggregatorRegistry, Gauge, type Registry } from 'prom-client'
import { sharedCollection } from '../metrics.js'
import { OWN_METRICS_REPLY, OWN_METRICS_REQUEST, type Message } from './messages.js'

/**
 * How long the primary waits for the workers' own metrics. A live worker answers in
 * milliseconds, even under load; one that has not answered by then is stalled (stopped, stuck in
 * a long task), and the scrape goes ahead without it rather than waiting for Prometheus to give up.
 */
export const COLLECT_DEADLINE_MS = 2_000

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

export interface ClusterMetrics {
  /** The cluster's metrics text (coalesced and briefly cached). */
  readonly collect: () => Promise<string>
  /** A worker's message: its own metrics, answering a collection. */
  readonly onMessage: (worker: Worker, message: Message) => void
  /** This worker will not answer (it died, or a send to it failed). */
  readonly forget: (worker: Worker) => void
}

export function clusterMetrics(deps: {
  /** The workers to ask: those listening. */
  readonly workers: () => readonly Worker[]
  /** WEB_CONCURRENCY: how many should have answered. */
  readonly expected: number
  /** The primary's own metrics (its reload outcomes). */
  readonly own: Registry
  readonly send: (worker: Worker, message: object, onError?: () => void) => boolean
}): ClusterMetrics {
  /** Collections in progress: the workers still to answer, and the answers so far. */
  const collections = new Map<
    number,
    { waiting: Set<Worker>; replies: MetricsJson[]; done(): void }
  >()
  let nextCollection = 0

  const forget = (worker: Worker) => {
    for (const collection of collections.values())
      if (collection.waiting.delete(worker) && collection.waiting.size === 0) collection.done()
  }

  /** Every asked worker's metrics that arrive by the deadline. */
  const gather = (): Promise<MetricsJson[]> =>
    new Promise((resolve) => {
      const id = nextCollection++
      const collection = {
        waiting: new Set<Worker>(),
        replies: [] as MetricsJson[],
        done: () => {
          clearTimeout(timer)
          collections.delete(id)
          resolve(collection.replies)
        },
      }
      const timer = setTimeout(collection.done, COLLECT_DEADLINE_MS)
      collections.set(id, collection)
      for (const worker of deps.workers())
        if (deps.send(worker, { type: OWN_METRICS_REQUEST, id }, () => forget(worker)))
          collection.waiting.add(worker)
      if (collection.waiting.size === 0) collection.done()
    })

  const collect = sharedCollection(async () => {
    const replies = await gather()
    const registry = AggregatorRegistry.aggregate([...replies, await deps.own.getMetricsAsJSON()])
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
    }).set(Math.max(0, deps.expected - replies.length))
    return registry.metrics()
  })

  return {
    collect,
    forget,
    onMessage(worker, message) {
      if (message?.type !== OWN_METRICS_REPLY || typeof message.id !== 'number') return
      const collection = collections.get(message.id)
      if (collection?.waiting.delete(worker) !== true) return // late: that collection went ahead
      if (Array.isArray(message.metrics)) collection.replies.push(message.metrics as MetricsJson)
      if (collection.waiting.size === 0) collection.done()
    },
  }
}
