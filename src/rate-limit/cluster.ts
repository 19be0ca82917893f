// Counts for every node:cluster worker of one machine, in their primary: each addition is one IPC
// round trip to rate-limiter-flexible's cluster master, which counts in memory. No extra server.
import { RateLimiterCluster, RateLimiterClusterMaster } from 'rate-limiter-flexible'
import { limiterStore, WINDOW_SECONDS, type CountStore } from './store.js'

/**
 * How long a worker waits for the primary's answer before counting alone (failover.ts): the
 * primary answers in well under a millisecond, but shares the machine's cores with the workers.
 */
export const CLUSTER_TIMEOUT_MS = 250

/** In a worker: counts in the primary. */
export function clusterStore(): CountStore {
  return limiterStore(
    'cluster',
    (limit) =>
      new RateLimiterCluster({
        keyPrefix: `usersig-${limit}`,
        points: limit,
        duration: WINDOW_SECONDS,
        timeoutMs: CLUSTER_TIMEOUT_MS,
      }),
  )
}

/** In the primary: answers the workers' cluster stores (once; the library keeps one master). */
export function serveClusterCounts(): void {
  new RateLimiterClusterMaster()
}
