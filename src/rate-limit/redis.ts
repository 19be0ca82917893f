// Counts for a whole fleet (every replica and every worker) in Redis, or any server that speaks
// its protocol (Valkey, a managed Redis): rate-limiter-flexible's Redis store, one Lua call per
// addition, over an ioredis client tuned so that a request never waits long on it: no offline
// queue (a command while disconnected fails at once) and reconnection in the background. How long
// a request waits, and what a failure means, is failover.ts's business.
import { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import type { RedisSettings } from '../config/index.js'
import type { Logger } from '../logger.js'
import { limiterStore, WINDOW_SECONDS, type CountStore } from './store.js'

/**
 * A command unanswered this long is dropped by the client: a backstop, so that commands sent to
 * a Redis that hangs do not pile up (requests stop waiting long before: failover.ts).
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000
/** How long the start waits for a first connection before it goes on counting per process. */
export const REDIS_CONNECT_WAIT_MS = 1_000

export interface RedisStore extends CountStore {
  /** Resolves true once connected, false if not within REDIS_CONNECT_WAIT_MS (it keeps trying). */
  readonly connected: Promise<boolean>
}

export function redisStore(settings: RedisSettings, logger: Logger): RedisStore {
  const client = new Redis(settings.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_CONNECT_WAIT_MS,
    maxRetriesPerRequest: 0,
    // Commands issued in the same tick share one write: under load, one round trip for many.
    enableAutoPipelining: true,
    // Reconnect quickly at first, then every 2 s, forever: Redis coming back is picked up by itself.
    retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
  })
  // ioredis reports every failed (re)connection here; failover.ts logs the outage once, with the
  // last of these as its reason. Without a listener each would be printed to the console.
  let lastError: string | null = null
  client.on('error', (error: Error) => {
    lastError = error.message
    logger.debug({ redis: settings.display, err: error.message }, 'redis connection error')
  })
  client.on('ready', () => (lastError = null))
  const connected = Promise.race([
    client.connect().then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => setTimeout(resolve, REDIS_CONNECT_WAIT_MS, false).unref()),
  ])
  const store = limiterStore(
    'redis',
    (limit) =>
      new RateLimiterRedis({
        storeClient: client,
        keyPrefix: `usersig:rl:${limit}`,
        points: limit,
        duration: WINDOW_SECONDS,
        // Not connected: fail at once, do not wait for a command timeout.
        rejectIfRedisNotReady: true,
      }),
    async () => {
      client.disconnect()
    },
  )
  return {
    ...store,
    // Why it failed, in the client's words (an address, never the password).
    take: (key, limit, points) =>
      Promise.resolve(store.take(key, limit, points)).catch((error: Error) => {
        throw lastError === null ? error : new Error(`${error.message}: ${lastError}`)
      }),
    connected,
  }
}
