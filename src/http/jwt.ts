// JWT callers (jose): verify the token against the identity provider's keys and map its claims
// onto the same grant model as static clients (subject -> id, scope -> scopes, sdkappids -> apps).
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose'
import { SCOPES, type JwtConfig, type Scope } from '../config.js'
import { ServiceError } from '../errors.js'
import type { Caller } from './authenticate.js'

/** How long a JWKS fetch may take before the identity provider counts as unavailable (ms). */
export const JWKS_TIMEOUT_MS = 3_000
/** A fetched JWKS is trusted this long before it is refetched (ms). */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000

const SUBJECT = /^[A-Za-z0-9._:@-]{1,128}$/

// jose failures that mean "this token is not acceptable"; anything else (a timeout, a refused
// connection, a JWKS that is not JSON) means the identity provider could not be asked.
const TOKEN_FAILURES = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWK_INVALID',
])

/** Builds the verifier once per configuration; the remote JWKS is cached and rate limited by jose. */
export function createJwtVerifier(jwt: JwtConfig): (token: string) => Promise<Caller> {
  const key =
    jwt.jwksUrl === null
      ? (jwt.secret as Uint8Array)
      : createRemoteJWKSet(jwt.jwksUrl, {
          timeoutDuration: JWKS_TIMEOUT_MS,
          cooldownDuration: jwt.jwksCooldownSeconds * 1000,
          cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
        })
  const options = {
    issuer: jwt.issuer,
    audience: jwt.audience,
    algorithms: [...jwt.algorithms],
    clockTolerance: jwt.clockTolerance,
    requiredClaims: ['exp', 'sub'],
  }
  return async function verifyCallerJwt(token) {
    let payload: JWTPayload
    try {
      ;({ payload } =
        key instanceof Uint8Array
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options))
    } catch (error) {
      if (error instanceof errors.JOSEError && TOKEN_FAILURES.has(error.code)) {
        throw new ServiceError('unauthorized', undefined, { cause: error })
      }
      throw new ServiceError('auth_unavailable', undefined, { cause: error })
    }
    return callerFromClaims(payload)
  }
}

function callerFromClaims(payload: JWTPayload): Caller {
  const { sub, scope, sdkappids } = payload as JWTPayload & { scope?: unknown; sdkappids?: unknown }
  if (typeof sub !== 'string' || !SUBJECT.test(sub)) throw new ServiceError('unauthorized')
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
  return { id: sub, apps, scopes, via: 'jwt', rateLimitPerMinute: null }
}
