// Caller authentication (static bearer tokens or JWTs) and authorisation (scopes and SDKAppIDs).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { AppConfig, ClientConfig, Config, JwtConfig, Scope } from '../config/index.js'
import { ServiceError } from '../errors.js'
import type { Logger } from '../logger.js'
import { createJwksKeySets } from './jwks.js'
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

export interface AuthenticatorOptions {
  /** Where a failing identity provider is reported (once per JWKS fetch); without one, nowhere. */
  readonly logger?: Logger
  /** Milliseconds since the epoch, for JWT expiry and the JWKS's age; tests move it. */
  readonly now?: () => number
}

/**
 * Authenticates `Authorization: Bearer <token>` against the configuration the request started
 * with: a static client's token (synchronously), or else a JWT when JWT callers are configured.
 * Throws (or rejects with) 401 `unauthorized`, or 503 `auth_unavailable` when the identity
 * provider's keys cannot be had. The JWT verifier is built once per configuration; the JWKS it
 * verifies with is kept per URL for the authenticator's life, so a reload keeps it.
 */
export function createAuthenticator(options: AuthenticatorOptions = {}): Authenticator {
  const now = options.now ?? Date.now
  const keySetFor = createJwksKeySets({ logger: options.logger, now })
  const verifiers = new WeakMap<JwtConfig, (token: string) => Promise<Caller>>()
  return function authenticate(config, authorization) {
    const token = BEARER.exec(authorization ?? '')?.[1]
    if (token === undefined) throw new ServiceError('unauthorized')
    // Static tokens first: a hash compare is cheap, and a static token may look like a JWT.
    const caller = staticCaller(config.policy.clients, token)
    if (caller !== undefined) return caller
    if (config.policy.jwt === null || !JWT_SHAPE.test(token)) throw new ServiceError('unauthorized')
    let verify = verifiers.get(config.policy.jwt)
    if (verify === undefined) {
      verify = createJwtVerifier(config.policy.jwt, { keySetFor, now })
      verifiers.set(config.policy.jwt, verify)
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
  const app = config.policy.apps.get(sdkAppId)
  if (!caller.scopes.has(scope) || !caller.apps.has(sdkAppId) || app === undefined) {
    throw new ServiceError('forbidden', `This caller may not use ${scope} for this SDKAppID.`)
  }
  return app
}
