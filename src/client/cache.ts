// A ticket cache for a backend on its users' login path: a UserSig is asked for once and handed
// out again until a margin before it expires, instead of a call per login. lru-cache keeps the
// tickets (least recently used first out, each with its own time to live on a monotonic clock);
// asks for the same user while one is under way share it; a failure is never kept.
import { LRUCache } from 'lru-cache'
import type { components } from '../contract/schema.js'
import { checkKeys, fail, integer } from './options.js'
import { issueUserSig, type UserSigClient } from './client.js'

type UserSigResponse = components['schemas']['UserSigResponse']

export interface UserSigCacheOptions {
  /**
   * A cached ticket is handed out while more than this many seconds of it remain (default 3600).
   * Make it longer than a login needs; the IM SDK asks for a new ticket when one expires.
   */
  readonly marginSeconds?: number
  /** The most tickets kept; the least recently used goes first (default 10000). */
  readonly maxEntries?: number
  /** The `expire` asked for, in seconds (default: the app's `defaultExpire`, 60 days unless set). */
  readonly expire?: number
}

export interface UserSigCache {
  /** A UserSig for this user: a cached one with more than the margin left, or a new one. */
  get(sdkAppId: number, userId: string): Promise<UserSigResponse>
  /** Forgets this user's ticket (the ticket itself stays valid until it expires). */
  delete(sdkAppId: number, userId: string): void
  /** Forgets every ticket, e.g. after removing a compromised key from the service. */
  clear(): void
  /** How many tickets are kept. */
  readonly size: number
}

export const DEFAULT_CACHE = { marginSeconds: 3_600, maxEntries: 10_000 } as const

// The longest expire the service accepts (openapi.yaml's Expire).
const MAX_EXPIRE = 1_576_800_000

export function createUserSigCache(
  client: UserSigClient,
  options: UserSigCacheOptions = {},
): UserSigCache {
  const where = 'createUserSigCache'
  checkKeys(where, options, ['marginSeconds', 'maxEntries', 'expire'])
  const margin = integer(
    where,
    'marginSeconds',
    options.marginSeconds,
    DEFAULT_CACHE.marginSeconds,
    0,
    MAX_EXPIRE,
  )
  const maxEntries = integer(
    where,
    'maxEntries',
    options.maxEntries,
    DEFAULT_CACHE.maxEntries,
    1,
    10_000_000,
  )
  const expire =
    options.expire === undefined
      ? undefined
      : integer(where, 'expire', options.expire, 0, 1, MAX_EXPIRE)
  if (expire !== undefined && expire <= margin)
    fail(where, '`marginSeconds` must be shorter than `expire`, or no ticket would be kept')

  const tickets = new LRUCache<string, UserSigResponse>({ max: maxEntries })
  const pending = new Map<string, Promise<UserSigResponse>>()
  // An SDKAppID is digits, so the first colon ends it.
  const keyOf = (sdkAppId: number, userId: string) => `${sdkAppId}:${userId}`

  function issue(key: string, sdkAppId: number, userId: string): Promise<UserSigResponse> {
    const asked = performance.now()
    const ask: Promise<UserSigResponse> = issueUserSig(
      client,
      expire === undefined ? { sdkAppId, userId } : { sdkAppId, userId, expire },
    )
      .then((ticket) => {
        // Counted from when it was asked for, on this machine's monotonic clock: the ticket's
        // own `expiresAt` is on the service's clock, which may differ from ours.
        const freshMs = (ticket.expire - margin) * 1000 - (performance.now() - asked)
        // Not kept when deleted meanwhile, or when it has no more than the margin to live.
        // Frozen: every ask is handed the same object.
        Object.freeze(ticket)
        if (pending.get(key) === ask && freshMs >= 1)
          tickets.set(key, ticket, { ttl: Math.floor(freshMs) })
        return ticket
      })
      .finally(() => {
        if (pending.get(key) === ask) pending.delete(key)
      })
    pending.set(key, ask)
    return ask
  }

  return {
    get(sdkAppId, userId) {
      const key = keyOf(sdkAppId, userId)
      const cached = tickets.get(key)
      if (cached !== undefined) return Promise.resolve(cached)
      return pending.get(key) ?? issue(key, sdkAppId, userId)
    },
    delete(sdkAppId, userId) {
      const key = keyOf(sdkAppId, userId)
      tickets.delete(key)
      pending.delete(key)
    },
    clear() {
      tickets.clear()
      pending.clear()
    },
    get size() {
      return tickets.size
    },
  }
}
