// JWT callers (jose): verify the token against the identity provider's keys and map its claims
// onto the same grant model as static clients (subject -> id, scope -> scopes, sdkappids -> apps).
import { errors, jwtVerify, type JWTPayload } from 'jose'
import { SCOPES, type JwtConfig, type Scope } from '../config/index.js'
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
  const key =
    jwt.jwksUrl === null
      ? (jwt.secret as Uint8Array)
      : deps.keySetFor(jwt.jwksUrl).lookup({
          cooldownMs: jwt.jwksCooldownSeconds * 1000,
          maxStaleMs: jwt.jwksMaxStaleSeconds * 1000,
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
      const verifyOptions = { ...options, currentDate: new Date(deps.now()) }
      ;({ payload } =
        key instanceof Uint8Array
          ? await jwtVerify(token, key, verifyOptions)
          : await jwtVerify(token, key, verifyOptions))
    } catch (error) {
      if (error instanceof JwksUnavailable) {
        // The key set has already logged why, once per fetch; this is every request meanwhile.
        throw new ServiceError('auth_unavailable', undefined, { cause: error, logged: true })
      }
      const reason = error instanceof errors.JOSEError ? TOKEN_FAILURES.get(error.code) : undefined
      if (reason !== undefined) throw new AuthenticationFailed(reason, error)
      // A published key jose cannot use (a private key, a malformed JWK): the IdP's fault.
      throw new ServiceError('auth_unavailable', undefined, { cause: error })
    }
    return callerFromClaims(payload)
  }
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
  }
}
