// The worker's side of node:cluster: the policy comes from the primary (never from a file the
// running workers rejected), a reload is asked of the primary, /metrics asks the primary for the
// whole cluster's, and a worker that cannot listen tells the primary so.
import cluster from 'node:cluster'
import type { Registry } from 'prom-client'
import type { FilesRead } from '../reload.js'
import {
  CLUSTER_METRICS_REPLY,
  CLUSTER_METRICS_REQUEST,
  LISTEN_FAILED,
  LISTENING,
  OWN_METRICS_REPLY,
  OWN_METRICS_REQUEST,
  POLICY,
  POLICY_REQUEST,
  RELOAD_REQUEST,
  RELOAD_TLS,
  type Message,
} from './messages.js'

/** How long a worker waits for a scraped cluster's metrics: past the primary's collect deadline. */
export const PRIMARY_WAIT_MS = 5_000
/** How long a starting worker waits for its policy before it gives up (and the primary replaces it). */
export const POLICY_WAIT_MS = 10_000

/** The policy the primary serves: the files it was read from, and its generation. */
export interface PolicyHandoff {
  readonly files: FilesRead
  readonly generation: number
}

/**
 * Linux with Node >= 22.12 (or 23.1): each worker listens on a socket of its own
 * (`reusePort`), the kernel spreads connections, and the primary holds none. Elsewhere the
 * workers share the primary's listening socket and accept on it themselves (SCHED_NONE), which
 * also keeps every connection out of the primary.
 */
export const REUSE_PORT = (() => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  return (
    process.platform === 'linux' &&
    (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12))
  )
})()

function toPrimary(message: object, onError?: () => void): boolean {
  if (process.send === undefined || !process.connected) return false
  process.send(message, (error: Error | null) => {
    if (error !== null) onError?.()
  })
  return true
}

function asPolicy(message: Message): PolicyHandoff | null {
  if (message?.type !== POLICY) return null
  const { files, generation } = message
  if (typeof files !== 'object' || files === null || typeof generation !== 'number') return null
  return { files: files as FilesRead, generation }
}

/** The policy to start from: asked of the primary once this worker listens for the answer. */
export function policyFromPrimary(): Promise<PolicyHandoff> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage)
      reject(new Error(`no policy from the cluster primary within ${POLICY_WAIT_MS} ms`))
    }, POLICY_WAIT_MS)
    const onMessage = (message: Message) => {
      const policy = asPolicy(message)
      if (policy === null) return
      clearTimeout(timer)
      process.off('message', onMessage)
      resolve(policy)
    }
    process.on('message', onMessage)
    if (!toPrimary({ type: POLICY_REQUEST })) {
      clearTimeout(timer)
      reject(new Error('no channel to the cluster primary'))
    }
  })
}

/** Every later policy the primary hands out (a reload it accepted). */
export function onPolicy(apply: (policy: PolicyHandoff) => void): void {
  process.on('message', (message: Message) => {
    const policy = asPolicy(message)
    if (policy !== null) apply(policy)
  })
}

/** SIGHUP to the primary: each worker reads its TLS pair again (the policy comes in POLICY). */
export function onTlsReload(reload: () => void): void {
  process.on('message', (message: Message) => {
    if (message?.type === RELOAD_TLS) reload()
  })
}

/** Tells the primary this worker serves (it counts and scrapes only workers that do). */
export function reportListening(): void {
  toPrimary({ type: LISTENING })
}

/** SIGHUP to a worker: the primary reads the files again and hands every worker the result. */
export function requestReload(): void {
  toPrimary({ type: RELOAD_REQUEST })
}

/**
 * A process that cannot listen says so in one line and exits 1. A worker hands the line to the
 * primary, which prints it once for all workers and stops, instead of replacing workers that
 * would fail the same way.
 */
export function exitCannotListen(text: string): void {
  if (cluster.isWorker && process.send !== undefined && process.connected) {
    // Exit once the message is on its way (the send's callback), whatever became of it.
    process.send({ type: LISTEN_FAILED, text }, () => process.exit(1))
    return
  }
  process.stderr.write(`${text}\n`)
  process.exit(1)
}

/**
 * Answers the primary's requests for this worker's registry, and returns the function /metrics
 * uses to fetch the whole cluster's metrics from the primary. Never throws if the primary is gone.
 */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
  let next = 0
  const waiting = new Map<number, (text: string | null) => void>()
  process.on('message', (message: Message) => {
    if (message?.type === OWN_METRICS_REQUEST) {
      const id = message.id
      registry.getMetricsAsJSON().then(
        (metrics) => toPrimary({ type: OWN_METRICS_REPLY, id, metrics }),
        // Answer anyway, so the primary need not wait for its deadline; it counts this worker missing.
        () => toPrimary({ type: OWN_METRICS_REPLY, id, metrics: null }),
      )
    } else if (message?.type === CLUSTER_METRICS_REPLY && typeof message.id === 'number') {
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
      if (!toPrimary({ type: CLUSTER_METRICS_REQUEST, id }, () => settle(null))) settle(null)
    })
}
