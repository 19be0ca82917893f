// JWT callers (jose): verify the token against the identity provider's keys and map its claims
// onto the same grant model as static clients (subject -> id, scope -> scopes, sdkappids -> apps).
import { errors, jwtVerify, type JWTPayload } from 'jose'
import { SCOPES, type JwtConfig, type Scope } from '../config/index.js'
import { ALL_PRIVILEGES } from '../config/clients.js'
import { compileUserIdPattern, type UserIdPattern } from '../config/user-id-pattern.js'
import { ServiceError } from '../errors.js'
import { AuthenticationFailed, type AuthFailureReason } from './auth-failures.js'
import type { Caller } from './authenticate.js'
import { JwksUnavailable, type JwksKeySet } from './jwks.js'

const SUBJECT = /^[A-Za-z0-9._:@-]{1,128}$/

// jose failures that mean "this token is not acceptable" (an unknown kid included: see jwks.ts),
// by the reason the log gives.
const TOKEN_FAILURES = new Map<string, AuthFailureReason>([
  ['ERR_JWT_EXPIRED', 'jwt_expired'],
  ['ERR_JWT_CLAIM_VALIDATION_FAILED', 'jwt_claim_invalid'],
  ['ERR_JWT_INVALID', 'jwt_malformed'],
  ['ERR_JWS_INVALID', 'jwt_malformed'],
  ['ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'jwt_signature_invalid'],
  ['ERR_JOSE_ALG_NOT_ALLOWED', 'jwt_malformed'],
  ['ERR_JOSE_NOT_SUPPORTED', 'jwt_malformed'],
  ['ERR_JWKS_NO_MATCHING_KEY', 'jwt_unknown_key'],
  ['ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'jwt_unknown_key'],
  ['ERR_JWK_INVALID', 'jwt_unknown_key'],
])

/**
 * Builds the verifier once per configuration. With a JWKS, the key set comes from `keySetFor`,
 * which shares it between configurations on the same URL (so it survives reloads).
 */
export function createJwtVerifier(
  jwt: JwtConfig,
  deps: { keySetFor: (url: URL) => JwksKeySet; now: () => number },
): (token: string) => Promise<Caller> {
  const policy = {
    cooldownMs: jwt.jwksCooldownSeconds * 1000,
    maxStaleMs: jwt.jwksMaxStaleSeconds * 1000,
  }
  const keySet = jwt.jwksUrl === null ? null : deps.keySetFor(jwt.jwksUrl)
  const key = keySet === null ? (jwt.secret as Uint8Array) : keySet.lookup(policy)
  /**
   * 503: the identity provider's keys cannot be had. Retry-After is the time until the key set
   * may ask the IdP again (at least 1 s): retrying sooner meets the same refusal.
   */
  const unavailable = (cause: unknown, logged: boolean) => {
    const waitMs = keySet?.nextFetchInMs(policy) ?? 0
    const retryAfter = String(Math.max(1, Math.ceil(waitMs / 1000)))
    return new ServiceError('auth_unavailable', undefined, {
      cause,
      logged,
      headers: { 'Retry-After': retryAfter },
    })
  }
  const options = {
    issuer: jwt.issuer,
    audience: jwt.audience,
    algorithms: [...jwt.algorithms],
    clockTolerance: jwt.clockTolerance,
    requiredClaims: ['exp', 'iat', 'sub'],
  }
  return async function verifyCallerJwt(token) {
    let payload: JWTPayload
    try {
      const verifyOptions = { ...options, currentDate: new Date(deps.now()) }
      ;({ payload } =
        key instanceof Uint8Array
          ? await jwtVerify(token, key, verifyOptions)
          : await jwtVerify(token, key, verifyOptions))
    } catch (error) {
      // The key set has already logged why, once per fetch; this is every request meanwhile.
      if (error instanceof JwksUnavailable) throw unavailable(error, true)
      const reason = error instanceof errors.JOSEError ? TOKEN_FAILURES.get(error.code) : undefined
      if (reason !== undefined) throw new AuthenticationFailed(reason, error)
      // A published key jose cannot use (a private key, a malformed JWK): the IdP's fault.
      throw unavailable(error, false)
    }
    checkLifetime(payload, jwt, deps.now())
    return callerFromClaims(payload)
  }
}

/**
 * A token lives at most USERSIG_JWT_MAX_LIFETIME_SECONDS from its `iat`, and is not issued in the
 * future (beyond the clock tolerance): a leaked token with `exp` in 30 years, or minted ahead of
 * time, is refused. jose has checked that `iat` and `exp` are numbers.
 */
function checkLifetime(payload: JWTPayload, jwt: JwtConfig, nowMs: number): void {
  const iat = payload.iat as number
  const exp = payload.exp as number
  if (iat > nowMs / 1000 + jwt.clockTolerance)
    throw new AuthenticationFailed('jwt_issued_in_future')
  if (exp - iat > jwt.maxLifetimeSeconds) throw new AuthenticationFailed('jwt_lifetime_too_long')
}

/** The claims that narrow a JWT caller's grant, as static clients' fields do. */
export const USER_PATTERN_CLAIM = 'usersig_user_pattern'
export const MAX_PRIVILEGES_CLAIM = 'usersig_max_privileges'

// Patterns are compiled once per distinct source: an IdP gives each caller the same one.
const PATTERNS_REMEMBERED = 256
const patterns = new Map<string, UserIdPattern>()

function patternOf(claim: unknown): UserIdPattern | null {
  if (claim === undefined) return null
  const cached = typeof claim === 'string' ? patterns.get(claim) : undefined
  if (cached !== undefined) return cached
  const compiled = compileUserIdPattern(claim)
  if ('problem' in compiled)
    throw new AuthenticationFailed(
      'jwt_claim_invalid',
      undefined,
      `${USER_PATTERN_CLAIM} ${compiled.problem}`,
    )
  if (patterns.size >= PATTERNS_REMEMBERED) patterns.clear()
  patterns.set(compiled.pattern.source, compiled.pattern)
  return compiled.pattern
}

function maxPrivilegesOf(claim: unknown): number {
  if (claim === undefined) return ALL_PRIVILEGES
  if (typeof claim !== 'number' || !Number.isInteger(claim) || claim < 0 || claim > ALL_PRIVILEGES)
    throw new AuthenticationFailed('jwt_claim_invalid')
  return claim
}

function callerFromClaims(payload: JWTPayload): Caller {
  const { sub, scope, sdkappids } = payload as JWTPayload & { scope?: unknown; sdkappids?: unknown }
  if (typeof sub !== 'string' || !SUBJECT.test(sub))
    throw new AuthenticationFailed('jwt_subject_invalid')
  // Unknown scopes are ignored (an IdP token often carries others); missing ones mean 403 later.
  const scopes = new Set<Scope>(
    typeof scope === 'string'
      ? (scope.split(' ').filter((s) => SCOPES.includes(s as Scope)) as Scope[])
      : [],
  )
  const apps = new Set<number>(
    Array.isArray(sdkappids)
      ? sdkappids.filter((id): id is number => Number.isSafeInteger(id) && id > 0)
      : [],
  )
  // jwtVerify has checked `iss` against the configured issuer.
  return {
    id: sub,
    apps,
    scopes,
    via: 'jwt',
    issuer: payload.iss as string,
    rateLimitPerMinute: null,
    // An invalid narrowing claim refuses the token: it must never widen the grant by being ignored.
    userIdPattern: patternOf(payload[USER_PATTERN_CLAIM]),
    maxPrivileges: maxPrivilegesOf(payload[MAX_PRIVILEGES_CLAIM]),
  }
}
