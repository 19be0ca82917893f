// Caller authentication (static bearer tokens or JWTs) and authorisation (scopes and SDKAppIDs).
import { hash, timingSafeEqual } from 'node:crypto'
import type { AppConfig, ClientConfig, Config, JwtConfig, Scope } from '../config/index.js'
import type { UserIdPattern } from '../config/user-id-pattern.js'
import { ServiceError } from '../errors.js'
import type { Logger } from '../logger.js'
import {
  AuthenticationFailed,
  createAuthFailureLog,
  type AuthFailureReason,
} from './auth-failures.js'
import { createJwksKeySets } from './jwks.js'
import { createJwtVerifier } from './jwt.js'

/** Who is calling and what they may do, whichever way they authenticated. */
export interface Caller {
  readonly id: string
  readonly apps: ReadonlySet<number>
  readonly scopes: ReadonlySet<Scope>
  /** A static client's token, or a JWT: a JWT subject is never the static client of that name. */
  readonly via: 'static' | 'jwt'
  /** The JWT's issuer (`iss`); null for a static client. */
  readonly issuer: string | null
  /** Tickets per minute, or null for the configured default. */
  readonly rateLimitPerMinute: number | null
  /** The UserIDs it may mint tickets for, or null for any the app's policy allows. */
  readonly userIdPattern: UserIdPattern | null
  /** The PrivateMapKey privileges it may grant, as a bit map (255: all). */
  readonly maxPrivileges: number
}

// The scheme is case-insensitive (RFC 9110 section 11.1); the token is not.
const BEARER = /^Bearer +([\x21-\x7e]{1,4096})$/i
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Authenticates one request's `Authorization` header against its configuration. */
export type Authenticator = ((
  config: Config,
  authorization: string | undefined,
) => Caller | Promise<Caller>) & {
  /** GET /metrics: throws 401 unless the header carries USERSIG_METRICS_TOKEN (when one is set). */
  readonly metrics: (config: Config, authorization: string | undefined) => void
}

export interface AuthenticatorOptions {
  /**
   * Where failed authentications (aggregated) and a failing identity provider (once per JWKS
   * fetch) are reported; without one, nowhere.
   */
  readonly logger?: Logger
  /** The window over which failed authentications of one reason make one log line (ms). */
  readonly failureWindowMs?: number
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
  const noteFailure = createAuthFailureLog(options.logger, options.failureWindowMs)
  const refuse = (reason: AuthFailureReason): never => {
    noteFailure(reason)
    throw new AuthenticationFailed(reason)
  }
  const noted = (error: unknown): never => {
    if (error instanceof AuthenticationFailed) noteFailure(error.reason, error.note)
    throw error
  }
  const authenticate = function authenticate(config: Config, authorization: string | undefined) {
    const token = BEARER.exec(authorization ?? '')?.[1]
    if (token === undefined) return refuse('no_token')
    // Static tokens first: a hash compare is cheap, and a static token may look like a JWT.
    const caller = staticCaller(config.policy.clients, token)
    if (caller !== undefined) return caller
    if (config.policy.jwt === null || !JWT_SHAPE.test(token)) return refuse('unknown_token')
    let verify = verifiers.get(config.policy.jwt)
    if (verify === undefined) {
      verify = createJwtVerifier(config.policy.jwt, { keySetFor, now })
      verifiers.set(config.policy.jwt, verify)
    }
    return verify(token).catch(noted)
  }
  const metrics = (config: Config, authorization: string | undefined): void => {
    const expected = config.policy.metricsTokenSha256
    if (expected === null) return
    const token = BEARER.exec(authorization ?? '')?.[1]
    // Hashed first, so the compare is of equal lengths and in constant time.
    if (token === undefined || !timingSafeEqual(hash('sha256', token, 'buffer'), expected))
      refuse('metrics_token')
  }
  return Object.assign(authenticate, { metrics })
}

/**
 * The presented token is hashed and compared with every client's SHA-256 in constant time,
 * without stopping at a match, so neither the token nor which client matched shows in the timing.
 */
function staticCaller(clients: readonly ClientConfig[], token: string): Caller | undefined {
  const presented = hash('sha256', token, 'buffer')
  let found: ClientConfig | undefined
  for (const client of clients) {
    if (timingSafeEqual(presented, client.tokenSha256) && found === undefined) found = client
  }
  return found === undefined ? undefined : callerOf(found)
}

// One Caller per configured client, made on its first request (a reload brings new clients).
const staticCallers = new WeakMap<ClientConfig, Caller>()

function callerOf(client: ClientConfig): Caller {
  let caller = staticCallers.get(client)
  if (caller === undefined) {
    caller = Object.freeze({
      id: client.id,
      apps: client.apps,
      scopes: client.scopes,
      via: 'static',
      issuer: null,
      rateLimitPerMinute: client.rateLimitPerMinute,
      userIdPattern: client.userIdPattern,
      maxPrivileges: client.maxPrivileges,
    })
    staticCallers.set(client, caller)
  }
  return caller
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
