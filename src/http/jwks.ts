// The identity provider's key set (JWKS), held per URL across requests and reloads. jose's
// createRemoteJWKSet forgets a failed fetch and refetches on every unknown kid once its cooldown
// is over, so an IdP outage turned every JWT-shaped request into a fetch and a 503, and a reload
// started from an empty cache. Here at most one fetch starts per cooldown whatever arrives
// (unknown kids, failures, hangs), one at a time, and the last good set keeps verifying while
// the IdP fails, up to a maximum age. jose still does the key work: createLocalJWKSet over the
// last good document.
import { createLocalJWKSet, errors, type JWTVerifyGetKey } from 'jose'
import type { Logger } from '../logger.js'

/** How long a JWKS fetch, headers and body, may take before it counts as failed (ms). */
export const JWKS_TIMEOUT_MS = 3_000
/** A fetched JWKS is refetched once it is this old (ms). */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000
/** A larger JWKS document is refused (a real one is a few KiB). */
export const JWKS_MAX_BYTES = 256 * 1024
// A reload that changes the URL leaves the old set behind; a few are kept, not every one.
const REMEMBERED_URLS = 4

/** One configuration's rules for the key set it shares with every configuration on its URL. */
export interface JwksPolicy {
  /** At most one fetch starts per this many ms, failed ones included. */
  readonly cooldownMs: number
  /** While the IdP fails, the last good set verifies until it is this old (ms since fetched). */
  readonly maxStaleMs: number
}

export interface JwksKeySet {
  /** jose's key lookup for `jwtVerify`, under one configuration's policy. */
  lookup(policy: JwksPolicy): JWTVerifyGetKey
  /** Milliseconds until the cooldown lets the next fetch start (0: it may start now). */
  nextFetchInMs(policy: JwksPolicy): number
}

export interface JwksDeps {
  /** Where failed fetches are reported, once per fetch (so at most once per cooldown). */
  readonly logger: Logger | undefined
  /** Milliseconds since the epoch. */
  readonly now: () => number
}

/** No key set may be used: none fetched yet, or the last good one is past its max stale age. */
export class JwksUnavailable extends Error {
  override readonly name = 'JwksUnavailable'
}

/** A fetch that got an answer, but not a usable JWKS (status, size, JSON). */
class JwksFetchFailed extends Error {
  override readonly name = 'JwksFetchFailed'
}

/** The key sets of one authenticator, one per JWKS URL: configurations on the same URL share it. */
export function createJwksKeySets(deps: JwksDeps): (url: URL) => JwksKeySet {
  const sets = new Map<string, JwksKeySet>()
  return function keySetFor(url) {
    let set = sets.get(url.href)
    if (set === undefined) {
      set = createJwksKeySet(url, deps)
      sets.set(url.href, set)
      const oldest = sets.keys().next().value
      if (sets.size > REMEMBERED_URLS && oldest !== undefined) sets.delete(oldest)
    }
    return set
  }
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>

function createJwksKeySet(url: URL, { logger, now }: JwksDeps): JwksKeySet {
  // Logged without the query or any credentials the URL may carry.
  const jwksUrl = `${url.origin}${url.pathname}`
  let good: { readonly keys: LocalKeySet; readonly fetchedAt: number } | undefined
  let lastAttemptAt = -Infinity
  // Why the last attempt failed; undefined once one succeeds.
  let failure: string | undefined
  let pending: Promise<void> | undefined

  // A clock set back counts as time passed for a refetch (it must not hold one off for the
  // step's length) and as no time passed for using the set.
  const within = (at: number, since: number, ms: number) => at >= since && at - since < ms
  const due = (at: number) =>
    good === undefined || !within(at, good.fetchedAt, JWKS_CACHE_MAX_AGE_MS)
  const usable = (policy: JwksPolicy, at: number): LocalKeySet | undefined => {
    if (good === undefined) return undefined
    const age = at - good.fetchedAt
    return age < JWKS_CACHE_MAX_AGE_MS || age <= policy.maxStaleMs ? good.keys : undefined
  }

  /** The fetch under way, or a new one unless the cooldown since the last attempt is not over. */
  const refresh = (policy: JwksPolicy, at: number): Promise<void> | undefined => {
    if (pending !== undefined) return pending
    if (within(at, lastAttemptAt, policy.cooldownMs)) return undefined
    lastAttemptAt = at
    pending = fetchJwks(url)
      .then(
        (keys) => {
          good = { keys, fetchedAt: now() }
          if (failure !== undefined) logger?.info({ jwksUrl }, 'JWKS fetched again')
          failure = undefined
        },
        (error: unknown) => {
          failure = reasonOf(error)
          const fields = {
            code: 'auth_unavailable',
            jwksUrl,
            reason: failure,
            keySetAgeSeconds:
              good === undefined ? null : Math.floor((now() - good.fetchedAt) / 1000),
          }
          // One line per failed fetch, so at most one per cooldown, standing for every request
          // refused until the next attempt; no stack: the reason says it all.
          if (usable(policy, now()) === undefined) {
            logger?.error(fields, 'JWKS fetch failed; JWT callers are refused until one succeeds')
          } else {
            logger?.warn(fields, 'JWKS fetch failed; verifying with the last good key set')
          }
        },
      )
      .finally(() => {
        pending = undefined
      })
    return pending
  }

  return {
    nextFetchInMs(policy) {
      const at = now()
      return within(at, lastAttemptAt, policy.cooldownMs)
        ? lastAttemptAt + policy.cooldownMs - at
        : 0
    },
    lookup(policy) {
      return async function jwksKey(header, token) {
        const at = now()
        // Never fetched, or due for a refresh: ask the IdP if the cooldown allows. A set still
        // usable verifies now, without waiting for the answer.
        if (due(at)) void refresh(policy, at)
        let keys = usable(policy, at)
        if (keys === undefined) {
          await pending
          keys = usable(policy, now())
          if (keys === undefined)
            throw new JwksUnavailable(`no usable JWKS (${failure ?? 'none fetched yet'})`)
        }
        try {
          return await keys(header, token)
        } catch (error) {
          if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
          // A kid the set does not hold may be a key the IdP published since: ask, at most once
          // per cooldown. Otherwise (cooldown, or the IdP failing) the token is refused as 401,
          // not 503: a token we cannot check against a key the IdP published is not acceptable,
          // and a 503 would let anyone with a made-up kid make the service report the IdP down.
          // IdPs publish a key before signing with it, so a real new kid is in the next fetch.
          const fetching = refresh(policy, now())
          if (fetching === undefined) throw error
          await fetching
          return (good?.keys ?? keys)(header, token)
        }
      }
    },
  }
}

/** Fetches and parses the JWKS, bounded in time (headers and body) and in size. */
async function fetchJwks(url: URL): Promise<LocalKeySet> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(JWKS_TIMEOUT_MS),
    // Like jose: the configured URL is the one trusted, not wherever it redirects.
    redirect: 'manual',
    headers: { accept: 'application/json, application/jwk-set+json' },
  })
  const declared = Number(response.headers.get('content-length') ?? 0)
  if (response.status !== 200 || declared > JWKS_MAX_BYTES || response.body === null) {
    await response.body?.cancel()
    throw new JwksFetchFailed(
      response.status === 200 ? `larger than ${JWKS_MAX_BYTES} bytes` : `HTTP ${response.status}`,
    )
  }
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength
    if (size > JWKS_MAX_BYTES) {
      await reader.cancel()
      throw new JwksFetchFailed(`larger than ${JWKS_MAX_BYTES} bytes`)
    }
    chunks.push(read.value)
  }
  let document: unknown
  try {
    document = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new JwksFetchFailed('not JSON')
  }
  return createLocalJWKSet(document as Parameters<typeof createLocalJWKSet>[0])
}

/** What went wrong, for the log: no stack, nothing from the response body. */
function reasonOf(error: unknown): string {
  if (error instanceof JwksFetchFailed) return error.message
  if (error instanceof errors.JWKSInvalid) return 'not a JSON Web Key Set'
  const { name, cause } = error as { name?: unknown; cause?: { code?: unknown } }
  if (name === 'TimeoutError') return `no answer within ${JWKS_TIMEOUT_MS} ms`
  if (typeof cause?.code === 'string') return `connection failed (${cause.code})`
  return `fetch failed (${String(name)})`
}
