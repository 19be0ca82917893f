// JWT callers from an identity provider. Their issuer settings (issuer, audience, JWKS URL,
// tolerances) are process settings, read once; a shared HS256 secret is policy: it may come from
// a file, and reloads with it.
import { makeExactValidator, str } from 'envalid'
import { weakSecret, type Findings } from './findings.js'
import { readSource, type Env, type ReadFile } from './sources.js'
import { integer, readVariables } from './variables.js'

/** Algorithms a JWT may use: asymmetric ones with a JWKS, HMAC with a shared secret. Never `none`. */
export const JWKS_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const
export const SECRET_ALGORITHMS = ['HS256'] as const
/** A shared HS256 secret shorter than this is refused (RFC 7518: at least the hash size). */
export const MIN_JWT_SECRET_BYTES = 32

export const JWT_VARIABLES = [
  'USERSIG_JWT_ISSUER',
  'USERSIG_JWT_AUDIENCE',
  'USERSIG_JWKS_URL',
  'USERSIG_JWT_SECRET',
  'USERSIG_JWT_SECRET_FILE',
  'USERSIG_JWT_CLOCK_TOLERANCE',
  'USERSIG_JWKS_COOLDOWN_SECONDS',
  'USERSIG_JWKS_MAX_STALE_SECONDS',
  'USERSIG_JWT_MAX_LIFETIME_SECONDS',
] as const

/** The issuer's settings: from environment variables, so they change only with a restart. */
export interface JwtSettings {
  readonly issuer: string
  readonly audience: string
  /** A remote JWKS (asymmetric keys), or null with a shared secret. */
  readonly jwksUrl: URL | null
  readonly algorithms: readonly string[]
  /** Seconds of leeway on exp and nbf. */
  readonly clockTolerance: number
  /** At most one JWKS fetch per this many seconds, however many unknown `kid`s arrive. */
  readonly jwksCooldownSeconds: number
  /** While the IdP fails, the last good JWKS keeps verifying until it is this many seconds old. */
  readonly jwksMaxStaleSeconds: number
  /** A token's `exp - iat` may be at most this: a leaked long-lived token is refused. */
  readonly maxLifetimeSeconds: number
}

/** What a request's JWT is checked against: the settings and, without a JWKS, the shared secret. */
export interface JwtConfig extends JwtSettings {
  /** The shared HS256 secret, or null with a JWKS. */
  readonly secret: Uint8Array | null
}

const JWKS_URL = makeExactValidator<URL>((input) => {
  const url = URL.canParse(input) ? new URL(input) : null
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url?.hostname ?? '')
  if (url === null || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback)))
    throw new Error('must be an https:// URL (http:// only for a loopback address)')
  return url
})

const SPECS = {
  USERSIG_JWT_ISSUER: str({ default: '' }),
  USERSIG_JWT_AUDIENCE: str({ default: '' }),
  USERSIG_JWKS_URL: JWKS_URL({ default: undefined }),
  USERSIG_JWT_CLOCK_TOLERANCE: integer(
    0,
    300,
    'must be an integer number of seconds from 0 to 300',
  )({ default: 30 }),
  USERSIG_JWKS_COOLDOWN_SECONDS: integer(
    0,
    3600,
    'must be an integer number of seconds from 0 to 3600',
  )({ default: 30 }),
  USERSIG_JWKS_MAX_STALE_SECONDS: integer(
    0,
    604_800,
    'must be an integer number of seconds from 0 to 604800 (7 days)',
  )({ default: 86_400 }),
  USERSIG_JWT_MAX_LIFETIME_SECONDS: integer(
    60,
    604_800,
    'must be an integer number of seconds from 60 to 604800 (7 days)',
  )({ default: 3600 }),
}

/** Whether any JWT variable is set: JWT callers are then configured (rightly or not). */
export function jwtConfigured(env: Env): boolean {
  return JWT_VARIABLES.some((name) => env[name] !== undefined)
}

/** The issuer settings; null without JWT callers, or when they are wrong (problems recorded). */
export function readJwtSettings(env: Env, findings: Findings): JwtSettings | null {
  if (!jwtConfigured(env)) return null
  const before = findings.problems.length
  const vars = readVariables(env, SPECS, findings)
  if (!env.USERSIG_JWT_ISSUER)
    findings.problem('USERSIG_JWT_ISSUER: required for JWT callers (the `iss` tokens must carry)')
  if (!env.USERSIG_JWT_AUDIENCE)
    findings.problem('USERSIG_JWT_AUDIENCE: required for JWT callers (the `aud` tokens must carry)')
  const withSecret =
    env.USERSIG_JWT_SECRET !== undefined || env.USERSIG_JWT_SECRET_FILE !== undefined
  if ((env.USERSIG_JWKS_URL === undefined) === !withSecret) {
    findings.problem(
      'USERSIG_JWKS_URL: give exactly one of USERSIG_JWKS_URL or USERSIG_JWT_SECRET(_FILE)',
    )
  }
  if (vars === null || findings.problems.length > before) return null
  const jwksUrl = vars.USERSIG_JWKS_URL ?? null
  return Object.freeze({
    issuer: vars.USERSIG_JWT_ISSUER,
    audience: vars.USERSIG_JWT_AUDIENCE,
    jwksUrl,
    algorithms: jwksUrl === null ? SECRET_ALGORITHMS : JWKS_ALGORITHMS,
    clockTolerance: vars.USERSIG_JWT_CLOCK_TOLERANCE,
    jwksCooldownSeconds: vars.USERSIG_JWKS_COOLDOWN_SECONDS,
    jwksMaxStaleSeconds: vars.USERSIG_JWKS_MAX_STALE_SECONDS,
    maxLifetimeSeconds: vars.USERSIG_JWT_MAX_LIFETIME_SECONDS,
  })
}

/**
 * The JWT configuration in force: the settings, and the shared secret read now (from
 * USERSIG_JWT_SECRET or its file). Null without JWT callers or when something is wrong.
 */
export function readJwtConfig(
  env: Env,
  settings: JwtSettings | null,
  readFile: ReadFile,
  findings: Findings,
): { readonly config: JwtConfig; readonly secretVariable: string | null } | null {
  // Read even when the settings are wrong, so that a file problem is reported with theirs.
  const source = readSource(env, 'USERSIG_JWT_SECRET', readFile, findings)
  if (settings === null || source === null) return null
  if (settings.jwksUrl !== null)
    return { config: Object.freeze({ ...settings, secret: null }), secretVariable: null }
  // A file usually ends with a newline the secret does not have.
  const text =
    source === undefined
      ? ''
      : source.path === null
        ? source.text
        : source.text.replace(/\r?\n$/, '')
  const variable = source?.variable ?? 'USERSIG_JWT_SECRET'
  if (Buffer.byteLength(text, 'utf8') < MIN_JWT_SECRET_BYTES) {
    findings.problem(`${variable}: must be at least ${MIN_JWT_SECRET_BYTES} bytes`)
    return null
  }
  const weak = weakSecret(text)
  if (weak !== null) findings.refuseInProduction('weak_secret', `${variable}: the secret ${weak}`)
  return {
    config: Object.freeze({ ...settings, secret: new TextEncoder().encode(text) }),
    secretVariable: variable,
  }
}
