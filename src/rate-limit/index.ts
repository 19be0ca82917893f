// Rate-limit counts, by USERSIG_RATE_LIMIT_SCOPE: in Redis for the whole fleet, in the cluster
// primary for the workers of one machine (WEB_CONCURRENCY > 1), or in each process. A shared
// store is wrapped in a failover to this process's own count (failover.ts).
import type { ProcessSettings } from '../config/index.js'
import type { Logger } from '../logger.js'
import { clusterStore } from './cluster.js'
import { withFailover } from './failover.js'
import { memoryStore } from './memory.js'
import { redisStore } from './redis.js'
import type { CountStore, StoreState } from './store.js'

export { serveClusterCounts } from './cluster.js'
export { memoryStore } from './memory.js'
export {
  WINDOW_SECONDS,
  type Count,
  type CountStore,
  type StoreKind,
  type StoreState,
} from './store.js'

/**
 * The counts this process uses. `worker`: it runs under a node:cluster primary, which serves the
 * cluster counts. Resolves once a Redis store has connected or given up waiting (it then starts
 * counting per process, and comes back to Redis by itself).
 */
export async function createCountStore(
  settings: Pick<ProcessSettings, 'rateLimitScope' | 'redis' | 'workers'>,
  deps: { logger: Logger; worker: boolean; onChange?: (state: StoreState) => void },
): Promise<CountStore> {
  const { logger } = deps
  if (settings.rateLimitScope === 'fleet' && settings.redis !== null) {
    const redis = redisStore(settings.redis, logger)
    const connected = await redis.connected
    return withFailover(redis, memoryStore(), {
      logger,
      target: settings.redis.display,
      startDown: !connected,
      ...(deps.onChange === undefined ? {} : { onChange: deps.onChange }),
    })
  }
  if (settings.rateLimitScope === 'machine' && deps.worker) {
    return withFailover(clusterStore({ workers: settings.workers }), memoryStore(), {
      logger,
      target: 'the cluster primary',
      ...(deps.onChange === undefined ? {} : { onChange: deps.onChange }),
    })
  }
  return memoryStore()
}
