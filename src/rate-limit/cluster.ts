// Counts for every node:cluster worker of one machine, in their primary, with no extra server: the
// primary counts in rate-limiter-flexible's memory store, and workers take from it over the
// cluster's IPC channel.
//
// The transport is ours rather than the library's cluster store (RateLimiterCluster), for measured
// reasons: its workers wait for an 'init' round trip per limit, polled every 30 ms, so the first
// burst after a start missed every deadline and was counted per worker; and one IPC message each
// way per request cost two workers ~25 % of their throughput (docs/performance.md). Here:
// - a worker sends, once per turn of its event loop, every take its requests made in that turn,
//   and the primary answers them in one message;
// - a take may ask for a little more than it needs (a lease): the worker then serves the next
//   requests of that caller from the lease, within the same window, without asking. Leases come
//   out of the one count, so the workers together never grant more than the limit; what a lease
//   holds unused is at most LEASE_SHARE of the limit per worker, and can only make another worker
//   refuse a little early, never grant more. Small limits get no lease, and are counted exactly.
import cluster, { type Worker } from 'node:cluster'
import { memoryLimiter } from './memory.js'
import { limitersByLimit, type CountStore, type Taken } from './store.js'

/** worker -> primary: takes [id, key, limit, points, extra]; primary -> worker: what was granted. */
const TAKE = 'usersig:counts-take'
const GRANTED = 'usersig:counts-granted'

/**
 * A take the primary has not answered this long is dropped: a backstop (requests stop waiting
 * long before: failover.ts).
 */
export const CLUSTER_TIMEOUT_MS = 5_000
/** The most of a limit one worker's lease holds: 1 % (nothing for limits under 100 per worker). */
export const LEASE_SHARE = 0.01
/** Past this many callers with a lease, those of ended windows are dropped. */
const MAX_LEASES = 10_000

/** [id, key, limit, points, extra]: `points` needed now (negative: given back), `extra` for a lease. */
type Take = [id: number, key: string, limit: number, points: number, extra: number]
/**
 * [id, granted, consumed, msBeforeNext]: `granted` points of `points + extra` (all of `points`, or
 * none of them when they do not fit), and the count after; or [id, null, why].
 */
type Grant =
  [id: number, granted: number, consumed: number, msBeforeNext: number] | [id: number, null, string]

interface Message {
  readonly type?: unknown
  readonly takes?: unknown
  readonly grants?: unknown
}

interface Lease {
  /** Points granted to this worker and not yet used. */
  left: number
  /** The primary's count when the lease was granted (it includes the lease). */
  consumed: number
  /** When the window the lease belongs to ends (performance.now() time). */
  readonly endsAt: number
}

/** In a worker: counts in the primary, among `workers` workers. */
export function clusterStore({ workers }: { workers: number }): CountStore {
  const pending = new Map<
    number,
    { resolve(grant: Grant): void; reject(error: Error): void; timer: NodeJS.Timeout }
  >()
  const leases = new Map<string, Lease>()
  /** Callers with a lease asked for and not yet granted. */
  const leasing = new Set<string>()
  let next = 0
  let batch: Take[] = []

  const flush = () => {
    const takes = batch
    batch = []
    const fail = (why: string) => {
      for (const [id] of takes) settle([id, null, why])
    }
    if (process.send === undefined || !process.connected) return fail('no cluster primary')
    process.send({ type: TAKE, takes }, (error: Error | null) => {
      if (error !== null) fail(`cluster primary unreachable: ${error.message}`)
    })
  }
  const settle = (grant: Grant) => {
    const waiting = pending.get(grant[0])
    if (waiting === undefined) return // dropped after the backstop
    pending.delete(grant[0])
    clearTimeout(waiting.timer)
    if (grant[1] === null) waiting.reject(new Error(grant[2]))
    else waiting.resolve(grant)
  }
  process.on('message', (message: Message) => {
    if (message?.type !== GRANTED || !Array.isArray(message.grants)) return
    for (const grant of message.grants as Grant[]) settle(grant)
  })
  const ask = (key: string, limit: number, points: number, extra: number) =>
    new Promise<Grant>((resolve, reject) => {
      const id = next++
      const timer = setTimeout(
        () => settle([id, null, `no answer from the cluster primary in ${CLUSTER_TIMEOUT_MS} ms`]),
        CLUSTER_TIMEOUT_MS,
      )
      timer.unref()
      pending.set(id, { resolve, reject, timer })
      // After this turn's I/O callbacks: every request read in this turn goes in one message.
      if (batch.length === 0) setImmediate(flush)
      batch.push([id, key, limit, points, extra])
    })
  const giveBackToPrimary = (key: string, limit: number, points: number) => () =>
    ask(key, limit, -points, 0).then(
      () => undefined,
      () => undefined,
    )

  /** A take the primary answers, perhaps with a lease for the caller's next requests. */
  const takeFromPrimary = async (
    key: string,
    limit: number,
    points: number,
    leaseKey: string,
  ): Promise<Taken> => {
    // One lease asked at a time per caller: what leases hold stays within LEASE_SHARE.
    const extra = leasing.has(leaseKey)
      ? 0
      : Math.floor((limit * LEASE_SHARE) / Math.max(workers, 1))
    if (extra > 0) leasing.add(leaseKey)
    let grant: Grant
    try {
      grant = await ask(key, limit, points, extra)
    } finally {
      if (extra > 0) leasing.delete(leaseKey)
    }
    const [, granted, consumed, msBeforeNext] = grant as [number, number, number, number]
    if (granted < points) {
      // Refused: nothing was taken. A count over the limit says so to the caller.
      return { consumed: consumed + points, msBeforeNext, giveBack: async () => undefined }
    }
    if (granted > points) {
      const held = leases.get(leaseKey)
      const now = performance.now()
      if (held !== undefined && now < held.endsAt) {
        // Another take of this caller's got a lease meanwhile: one lease holds both.
        held.left += granted - points
        held.consumed = Math.max(held.consumed, consumed)
      } else {
        // Leases of windows that ended are dropped now and then (JWT subjects are many).
        if (leases.size >= MAX_LEASES)
          for (const [k, old] of leases) if (old.endsAt <= now) leases.delete(k)
        leases.set(leaseKey, { left: granted - points, consumed, endsAt: now + msBeforeNext })
      }
    }
    return {
      consumed: consumed - (granted - points),
      msBeforeNext,
      giveBack: giveBackToPrimary(key, limit, points),
    }
  }

  return {
    take(key, limit, points) {
      const leaseKey = `${limit} ${key}`
      const now = performance.now()
      const lease = leases.get(leaseKey)
      if (lease === undefined || now >= lease.endsAt || lease.left < points)
        return takeFromPrimary(key, limit, points, leaseKey)
      // From the lease, at once: no message, no promise.
      lease.left -= points
      return {
        // The fleet's count as far as this worker knows: its lease's unused points are not used.
        consumed: lease.consumed - lease.left,
        msBeforeNext: lease.endsAt - now,
        giveBack: async () => {
          if (leases.get(leaseKey) === lease) lease.left += points
        },
      }
    },
    state: () => ({ store: 'cluster', shared: true }),
    close: async () => undefined,
  }
}

/**
 * In the primary: counts what the workers take, in memory, and answers each message at once. A
 * take gets all its points and as much of its lease as fits, or nothing when its points do not fit.
 */
export function serveClusterCounts(): void {
  const limiterFor = limitersByLimit(memoryLimiter)
  cluster.on('message', (worker: Worker, message: Message) => {
    if (message?.type !== TAKE || !Array.isArray(message.takes)) return
    const grants = (message.takes as Take[]).map(
      async ([id, key, limit, points, extra]): Promise<Grant> => {
        try {
          const limiter = limiterFor(limit)
          if (points < 0) {
            const res = await limiter.reward(key, -points)
            return [id, points, res.consumedPoints, res.msBeforeNext]
          }
          let res = await limiter.penalty(key, points + extra)
          const over = res.consumedPoints - limit
          if (over <= 0) return [id, points + extra, res.consumedPoints, res.msBeforeNext]
          // Give back what does not fit: the lease first, then the points themselves.
          const kept = over <= extra ? points + extra - over : 0
          res = await limiter.reward(key, points + extra - kept)
          return [id, kept, res.consumedPoints, res.msBeforeNext]
        } catch (error) {
          return [id, null, String(error)]
        }
      },
    )
    void Promise.all(grants).then((answers) => {
      if (!worker.isConnected()) return
      // A worker that died meanwhile: node:cluster's 'error' on it is handled by the supervisor.
      worker.send({ type: GRANTED, grants: answers }, () => undefined)
    })
  })
}
