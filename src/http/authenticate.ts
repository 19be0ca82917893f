// Caller authentication (static bearer tokens or JWTs) and authorisation (scopes and SDKAppIDs).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { AppConfig, ClientConfig, Config, Scope } from '../config.js'
import { ServiceError } from '../errors.js'
import { createJwtVerifier } from './jwt.js'

/** Who is calling and what they may do, whichever way they authenticated. */
export interface Caller {
  readonly id: string
  readonly apps: ReadonlySet<number>
  readonly scopes: ReadonlySet<Scope>
  readonly via: 'token' | 'jwt'
  /** Requests per minute, or null for the configured default. */
  readonly rateLimitPerMinute: number | null
}

// The scheme is case-insensitive (RFC 9110 section 11.1); the token is not.
const BEARER = /^Bearer +([\x21-\x7e]{1,4096})$/i
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Authenticates one request's `Authorization` header against its configuration. */
export type Authenticator = (
  config: Config,
  authorization: string | undefined,
) => Caller | Promise<Caller>

/**
 * Authenticates `Authorization: Bearer <token>` against the configuration the request started
 * with: a static client's token (synchronously), or else a JWT when JWT callers are configured.
 * Throws (or rejects with) 401 `unauthorized`, or 503 `auth_unavailable` when the identity
 * provider cannot be reached. The JWT verifier is built once per configuration (reloads build a
 * new one).
 */
export function createAuthenticator(): Authenticator {
  const verifiers = new WeakMap<Config, (token: string) => Promise<Caller>>()
  return function authenticate(config, authorization) {
    const token = BEARER.exec(authorization ?? '')?.[1]
    if (token === undefined) throw new ServiceError('unauthorized')
    // Static tokens first: a hash compare is cheap, and a static token may look like a JWT.
    const caller = staticCaller(config.clients, token)
    if (caller !== undefined) return caller
    if (config.jwt === null || !JWT_SHAPE.test(token)) throw new ServiceError('unauthorized')
    let verify = verifiers.get(config)
    if (verify === undefined) {
      verify = createJwtVerifier(config.jwt)
      verifiers.set(config, verify)
    }
    return verify(token)
  }
}

/**
 * The presented token is hashed and compared with every client's SHA-256 in constant time,
 * without stopping at a match, so neither the token nor which client matched shows in the timing.
 */
function staticCaller(clients: readonly ClientConfig[], token: string): Caller | undefined {
  const presented = createHash('sha256').update(token, 'utf8').digest()
  let found: ClientConfig | undefined
  for (const client of clients) {
    if (timingSafeEqual(presented, client.tokenSha256) && found === undefined) found = client
  }
  return found === undefined
    ? undefined
    : {
        id: found.id,
        apps: found.apps,
        scopes: found.scopes,
        via: 'token',
        rateLimitPerMinute: found.rateLimitPerMinute,
      }
}

/**
 * The app the caller may use `scope` for, or 403. The same answer for an app that does not exist as
 * for one not granted (a JWT may name any SDKAppID), so callers cannot probe which apps exist.
 */
export function authorizedApp(
  caller: Caller,
  scope: Scope,
  sdkAppId: number,
  config: Config,
): AppConfig {
  const app = config.apps.get(sdkAppId)
  if (!caller.scopes.has(scope) || !caller.apps.has(sdkAppId) || app === undefined) {
    throw new ServiceError('forbidden', `This caller may not use ${scope} for this SDKAppID.`)
  }
  return app
}
