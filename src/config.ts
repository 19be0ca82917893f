// Configuration: loadConfig(env) -> a frozen Config, or one ConfigError listing every problem.
// Messages name the variable, the app id and the key or client id; never a secret's value.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { bool, cleanEnv, num, port, str } from 'envalid'
import {
  checkSecret,
  createUserSigKey,
  MAX_SDKAPPID,
  USER_ID_POLICIES,
  type UserIdPolicy,
  type UserSigKey,
} from './usersig/index.js'

export const SCOPES = ['usersig:issue', 'usersig:verify', 'privatemapkey:issue'] as const
export type Scope = (typeof SCOPES)[number]

/**
 * The non-secret defaults, from config/defaults.json: per-app limits when an app leaves them out
 * (seconds; ~2 months default as Tencent suggests, 180 days maximum as the official libraries and
 * Tencent's console use, 300 s for a PrivateMapKey), and the development default's app and caller.
 */
const DEFAULTS = JSON.parse(
  readFileSync(new URL('../config/defaults.json', import.meta.url), 'utf8'),
) as {
  app: {
    defaultExpire: number
    minExpire: number
    maxExpire: number
    privateMapKeyDefaultExpire: number
    userIdPolicy: UserIdPolicy
  }
  development: { sdkAppId: number; keyId: string; clientId: string; scopes: Scope[] }
}
export const APP_DEFAULTS = Object.freeze(DEFAULTS.app)
/** Tencent's documented ceiling for a UserSig's validity: 50 years. */
export const MAX_EXPIRE_CEILING = 50 * 365 * 86_400
export const MIN_TOKEN_LENGTH = 32
const MAX_KEYS_PER_APP = 8
/** The example files' placeholders start so; they are refused, so an example can never go live. */
const PLACEHOLDER = 'REPLACE_WITH_'

export interface AppConfig {
  readonly sdkAppId: number
  /** The first key signs; every key verifies (rotation). */
  readonly keys: readonly UserSigKey[]
  /** keys[0]: the key that signs new tickets. */
  readonly signingKey: UserSigKey
  readonly defaultExpire: number
  readonly minExpire: number
  readonly maxExpire: number
  readonly privateMapKeyDefaultExpire: number
  readonly userIdPolicy: UserIdPolicy
}

export interface ClientConfig {
  readonly id: string
  /** SHA-256 of the bearer token: the plain token is not kept. */
  readonly tokenSha256: Buffer
  readonly apps: ReadonlySet<number>
  readonly scopes: ReadonlySet<Scope>
  /** This caller's own limit, or null for USERSIG_RATE_LIMIT_PER_MINUTE. */
  readonly rateLimitPerMinute: number | null
}

export interface Config {
  readonly production: boolean
  readonly host: string
  readonly port: number
  readonly logLevel: string
  readonly debugEndpoints: boolean
  readonly maxClockSkew: number
  readonly shutdownDelayMs: number
  readonly shutdownTimeoutMs: number
  /** Requests per minute per caller (per replica and worker) when the caller sets no limit of its own; 0: none. */
  readonly rateLimitPerMinute: number
  /** Worker processes (node:cluster); 1 runs a single process. */
  readonly workers: number
  readonly apps: ReadonlyMap<number, AppConfig>
  readonly clients: readonly ClientConfig[]
  readonly jwt: JwtConfig | null
  /** Set when nothing was configured outside production: the generated demo app and token. */
  readonly devDefault: {
    readonly sdkAppId: number
    readonly clientId: string
    readonly token: string
  } | null
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

type Env = Readonly<Record<string, string | undefined>>

/** Every environment variable the service reads (docs/configuration.md and .env.example list them; a test checks). */
export const CONFIG_VARIABLES = [
  'NODE_ENV',
  'HOST',
  'PORT',
  'LOG_LEVEL',
  'USERSIG_APPS',
  'USERSIG_APPS_FILE',
  'USERSIG_CLIENTS',
  'USERSIG_CLIENTS_FILE',
  'USERSIG_DEBUG_ENDPOINTS',
  'USERSIG_MAX_CLOCK_SKEW',
  'SHUTDOWN_DELAY_MS',
  'SHUTDOWN_TIMEOUT_MS',
  'WEB_CONCURRENCY',
  'USERSIG_RATE_LIMIT_PER_MINUTE',
  'USERSIG_JWT_ISSUER',
  'USERSIG_JWT_AUDIENCE',
  'USERSIG_JWKS_URL',
  'USERSIG_JWT_SECRET',
  'USERSIG_JWT_SECRET_FILE',
  'USERSIG_JWT_CLOCK_TOLERANCE',
  'USERSIG_JWKS_COOLDOWN_SECONDS',
  'USERSIG_JWKS_MAX_STALE_SECONDS',
] as const

/** Algorithms a JWT may use: asymmetric ones with a JWKS, HMAC with a shared secret. Never `none`. */
export const JWKS_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const
export const SECRET_ALGORITHMS = ['HS256'] as const
/** A shared HS256 secret shorter than this is refused (RFC 7518: at least the hash size). */
export const MIN_JWT_SECRET_BYTES = 32

/** Callers with JWTs from an identity provider (alongside, or instead of, static tokens). */
export interface JwtConfig {
  readonly issuer: string
  readonly audience: string
  /** A remote JWKS (asymmetric keys), or null with a shared secret. */
  readonly jwksUrl: URL | null
  /** The shared HS256 secret, or null with a JWKS. */
  readonly secret: Uint8Array | null
  readonly algorithms: readonly string[]
  /** Seconds of leeway on exp and nbf. */
  readonly clockTolerance: number
  /** At most one JWKS fetch per this many seconds, however many unknown `kid`s arrive. */
  readonly jwksCooldownSeconds: number
  /** While the IdP fails, the last good JWKS keeps verifying until it is this many seconds old. */
  readonly jwksMaxStaleSeconds: number
}

/**
 * Reads and checks the whole configuration from environment variables (and the files that
 * `*_FILE` variables name). Reports every problem at once.
 *
 * @throws ConfigError listing each problem by variable, app id and key or client id.
 */
export function loadConfig(env: Env, readFile: (path: string) => string = readUtf8): Config {
  const problems: string[] = []
  const production = env.NODE_ENV === 'production'
  const vars = cleanEnv(
    env,
    {
      NODE_ENV: str({ choices: ['production', 'development', 'test'], default: 'development' }),
      HOST: str({ default: production ? '0.0.0.0' : '127.0.0.1' }),
      PORT: port({ default: 8080 }),
      LOG_LEVEL: str({
        choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
        default: 'info',
      }),
      USERSIG_DEBUG_ENDPOINTS: bool({ default: !production }),
      USERSIG_MAX_CLOCK_SKEW: num({ default: 300 }),
      SHUTDOWN_DELAY_MS: num({ default: 0 }),
      SHUTDOWN_TIMEOUT_MS: num({ default: 10_000 }),
      USERSIG_RATE_LIMIT_PER_MINUTE: num({ default: 60_000 }),
    },
    {
      reporter: ({ errors }) => {
        for (const [name, error] of Object.entries(errors)) {
          problems.push(`${name}: ${error instanceof Error ? error.message : 'invalid'}`)
        }
      },
    },
  )
  for (const name of [
    'USERSIG_MAX_CLOCK_SKEW',
    'SHUTDOWN_DELAY_MS',
    'SHUTDOWN_TIMEOUT_MS',
    'USERSIG_RATE_LIMIT_PER_MINUTE',
  ] as const) {
    const value = vars[name] as number | undefined
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      problems.push(`${name}: must be a non-negative integer`)
    }
  }

  const workersText = env.WEB_CONCURRENCY ?? '1'
  const workers = workersText === 'auto' ? availableParallelism() : Number(workersText)
  if (!/^(auto|[1-9][0-9]?)$/.test(workersText) || workers > 64) {
    problems.push(
      'WEB_CONCURRENCY: must be "auto" (one worker per core) or a number of workers from 1 to 64',
    )
  }

  const appsJson = readJsonVariable(env, 'USERSIG_APPS', readFile, problems)
  const clientsJson = readJsonVariable(env, 'USERSIG_CLIENTS', readFile, problems)
  const jwt = readJwtConfig(env, readFile, problems)
  let apps = new Map<number, AppConfig>()
  let clients: ClientConfig[] = []
  let devDefault: Config['devDefault'] = null

  const nothingConfigured = appsJson === undefined && clientsJson === undefined && jwt === undefined
  if (nothingConfigured && !production && problems.length === 0) {
    ;({ apps, clients, devDefault } = developmentDefault())
  } else {
    if (appsJson === undefined)
      problems.push(
        'USERSIG_APPS: not set (nor USERSIG_APPS_FILE); configure at least one SDKAppID',
      )
    else if (appsJson !== null) apps = parseApps(appsJson, problems)
    // JWT callers may stand in for static ones.
    if (clientsJson === undefined) {
      if (jwt === undefined) {
        problems.push(
          'USERSIG_CLIENTS: not set (nor USERSIG_CLIENTS_FILE); configure at least one caller (or JWT callers)',
        )
      }
    } else if (clientsJson !== null) {
      clients = parseClients(clientsJson, declaredAppIds(appsJson), problems)
    }
  }

  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze({
    production,
    host: vars.HOST,
    port: vars.PORT,
    logLevel: vars.LOG_LEVEL,
    debugEndpoints: vars.USERSIG_DEBUG_ENDPOINTS,
    maxClockSkew: vars.USERSIG_MAX_CLOCK_SKEW,
    shutdownDelayMs: vars.SHUTDOWN_DELAY_MS,
    shutdownTimeoutMs: vars.SHUTDOWN_TIMEOUT_MS,
    rateLimitPerMinute: vars.USERSIG_RATE_LIMIT_PER_MINUTE,
    workers,
    apps,
    clients: Object.freeze(clients),
    jwt: jwt ?? null,
    devDefault,
  })
}

/** `undefined` when no JWT variable is set; `null` when they are set but wrong (problems recorded). */
function readJwtConfig(
  env: Env,
  readFile: (path: string) => string,
  problems: string[],
): JwtConfig | null | undefined {
  const names = CONFIG_VARIABLES.filter(
    (name) => name.startsWith('USERSIG_JWT') || name === 'USERSIG_JWKS_URL',
  )
  if (names.every((name) => env[name] === undefined)) return undefined
  const before = problems.length
  const issuer = env.USERSIG_JWT_ISSUER
  const audience = env.USERSIG_JWT_AUDIENCE
  if (!issuer)
    problems.push('USERSIG_JWT_ISSUER: required for JWT callers (the `iss` tokens must carry)')
  if (!audience)
    problems.push('USERSIG_JWT_AUDIENCE: required for JWT callers (the `aud` tokens must carry)')
  const toleranceText = env.USERSIG_JWT_CLOCK_TOLERANCE ?? '30'
  const clockTolerance = Number(toleranceText)
  if (!/^[0-9]{1,4}$/.test(toleranceText) || clockTolerance > 300) {
    problems.push('USERSIG_JWT_CLOCK_TOLERANCE: must be an integer number of seconds from 0 to 300')
  }

  const cooldownText = env.USERSIG_JWKS_COOLDOWN_SECONDS ?? '30'
  const jwksCooldownSeconds = Number(cooldownText)
  if (!/^[0-9]{1,4}$/.test(cooldownText) || jwksCooldownSeconds > 3600) {
    problems.push(
      'USERSIG_JWKS_COOLDOWN_SECONDS: must be an integer number of seconds from 0 to 3600',
    )
  }

  const maxStaleText = env.USERSIG_JWKS_MAX_STALE_SECONDS ?? '86400'
  const jwksMaxStaleSeconds = Number(maxStaleText)
  if (!/^[0-9]{1,6}$/.test(maxStaleText) || jwksMaxStaleSeconds > 604_800) {
    problems.push(
      'USERSIG_JWKS_MAX_STALE_SECONDS: must be an integer number of seconds from 0 to 604800 (7 days)',
    )
  }

  let secretText = env.USERSIG_JWT_SECRET
  if (env.USERSIG_JWT_SECRET_FILE !== undefined) {
    if (secretText !== undefined) {
      problems.push(
        'USERSIG_JWT_SECRET: set either USERSIG_JWT_SECRET or USERSIG_JWT_SECRET_FILE, not both',
      )
    }
    try {
      secretText = readFile(env.USERSIG_JWT_SECRET_FILE).replace(/\r?\n$/, '')
    } catch {
      problems.push(`USERSIG_JWT_SECRET_FILE: cannot read ${env.USERSIG_JWT_SECRET_FILE}`)
    }
  }
  let jwksUrl: URL | null = null
  const jwksText = env.USERSIG_JWKS_URL
  if ((jwksText === undefined) === (secretText === undefined)) {
    problems.push(
      'USERSIG_JWKS_URL: give exactly one of USERSIG_JWKS_URL or USERSIG_JWT_SECRET(_FILE)',
    )
  } else if (jwksText !== undefined) {
    jwksUrl = URL.canParse(jwksText) ? new URL(jwksText) : null
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(jwksUrl?.hostname ?? '')
    if (
      jwksUrl === null ||
      !(jwksUrl.protocol === 'https:' || (jwksUrl.protocol === 'http:' && loopback))
    ) {
      problems.push(
        'USERSIG_JWKS_URL: must be an https:// URL (http:// only for a loopback address)',
      )
    }
  } else if (
    secretText !== undefined &&
    Buffer.byteLength(secretText, 'utf8') < MIN_JWT_SECRET_BYTES
  ) {
    problems.push(`USERSIG_JWT_SECRET: must be at least ${MIN_JWT_SECRET_BYTES} bytes`)
  }
  if (problems.length > before) return null
  return Object.freeze({
    issuer: issuer as string,
    audience: audience as string,
    jwksUrl,
    secret: jwksUrl === null ? new TextEncoder().encode(secretText) : null,
    algorithms: jwksUrl === null ? SECRET_ALGORITHMS : JWKS_ALGORITHMS,
    clockTolerance,
    jwksCooldownSeconds,
    jwksMaxStaleSeconds,
  })
}

function readUtf8(path: string): string {
  return readFileSync(path, 'utf8')
}

/** `undefined`: not configured; `null`: configured but unreadable (a problem was recorded). */
function readJsonVariable(
  env: Env,
  name: string,
  readFile: (path: string) => string,
  problems: string[],
): unknown {
  const inline = env[name]
  const path = env[`${name}_FILE`]
  if (inline !== undefined && path !== undefined) {
    problems.push(`${name}: set either ${name} or ${name}_FILE, not both`)
    return null
  }
  let text = inline
  if (path !== undefined) {
    try {
      text = readFile(path)
    } catch {
      problems.push(`${name}_FILE: cannot read ${path}`)
      return null
    }
  }
  if (text === undefined || text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    // JSON.parse's own message quotes the input, which holds secrets: never pass it on.
    problems.push(`${name}${path === undefined ? '' : '_FILE'}: not valid JSON`)
    return null
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function parseApps(json: unknown, problems: string[]): Map<number, AppConfig> {
  const apps = new Map<number, AppConfig>()
  if (!isObject(json) || Object.keys(json).length === 0) {
    problems.push('USERSIG_APPS: must be a JSON object of SDKAppID -> app, with at least one app')
    return apps
  }
  for (const [appKey, raw] of Object.entries(json)) {
    const where = `USERSIG_APPS: app ${JSON.stringify(appKey)}`
    const sdkAppId = Number(appKey)
    const before = problems.length
    if (!/^[1-9][0-9]*$/.test(appKey) || sdkAppId > MAX_SDKAPPID) {
      problems.push(`${where}: the key must be an SDKAppID (an integer from 1 to ${MAX_SDKAPPID})`)
      continue
    }
    if (!isObject(raw)) {
      problems.push(`${where}: must be an object with "keys"`)
      continue
    }
    for (const field of Object.keys(raw)) {
      if (
        ![
          'keys',
          'defaultExpire',
          'minExpire',
          'maxExpire',
          'privateMapKeyDefaultExpire',
          'userIdPolicy',
        ].includes(field)
      ) {
        problems.push(`${where}: unknown field "${field}"`)
      }
    }
    const keys = parseKeys(raw.keys, where, problems)
    const limit = (field: keyof typeof APP_DEFAULTS & `${string}Expire`): number => {
      const value = raw[field] ?? APP_DEFAULTS[field]
      if (
        typeof value !== 'number' ||
        !Number.isSafeInteger(value) ||
        value < 0 ||
        value > MAX_EXPIRE_CEILING
      ) {
        problems.push(
          `${where}: ${field} must be an integer number of seconds from 0 to ${MAX_EXPIRE_CEILING} (50 years)`,
        )
        return 0
      }
      return value
    }
    const defaultExpire = limit('defaultExpire')
    const minExpire = limit('minExpire')
    const maxExpire = limit('maxExpire')
    const privateMapKeyDefaultExpire = limit('privateMapKeyDefaultExpire')
    if (problems.length === before) {
      if (minExpire > maxExpire) problems.push(`${where}: minExpire is greater than maxExpire`)
      for (const [name, value] of [
        ['defaultExpire', defaultExpire],
        ['privateMapKeyDefaultExpire', privateMapKeyDefaultExpire],
      ] as const) {
        if (value < minExpire || value > maxExpire)
          problems.push(`${where}: ${name} is outside [minExpire, maxExpire]`)
      }
    }
    const userIdPolicy = raw.userIdPolicy ?? APP_DEFAULTS.userIdPolicy
    if (!USER_ID_POLICIES.includes(userIdPolicy as UserIdPolicy)) {
      problems.push(`${where}: userIdPolicy must be one of ${USER_ID_POLICIES.join(', ')}`)
    }
    if (problems.length === before) {
      apps.set(
        sdkAppId,
        Object.freeze({
          sdkAppId,
          keys,
          // no problem was recorded for this app, so parseKeys returned at least one key
          signingKey: keys[0] as UserSigKey,
          defaultExpire,
          minExpire,
          maxExpire,
          privateMapKeyDefaultExpire,
          userIdPolicy: userIdPolicy as UserIdPolicy,
        }),
      )
    }
  }
  return apps
}

function parseKeys(raw: unknown, where: string, problems: string[]): UserSigKey[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_KEYS_PER_APP) {
    problems.push(
      `${where}: keys must be a list of 1 to ${MAX_KEYS_PER_APP} keys (the first signs, all verify)`,
    )
    return []
  }
  const keys: UserSigKey[] = []
  const seenIds = new Set<string>()
  const seenSecrets = new Set<string>()
  raw.forEach((entry: unknown, index) => {
    const at = `${where}: keys[${index}]`
    if (!isObject(entry)) return problems.push(`${at}: must be an object with "id" and "secret"`)
    const { id, secret } = entry
    if (typeof id !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(id)) {
      return problems.push(`${at}: id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -`)
    }
    const named = `${where}: key "${id}"`
    if (seenIds.has(id)) problems.push(`${named}: the id is used twice`)
    seenIds.add(id)
    // The codec's rule and wording, so the CLI refuses exactly what the service refuses.
    const secretProblem = checkSecret(secret)
    if (secretProblem !== null) return problems.push(`${named}: ${secretProblem}`)
    if (typeof secret !== 'string') return undefined
    if (secret.startsWith(PLACEHOLDER)) {
      return problems.push(
        `${named}: secret is still the placeholder from config/apps.example.json`,
      )
    }
    if (seenSecrets.has(secret)) problems.push(`${named}: the same secret is listed twice`)
    seenSecrets.add(secret)
    keys.push(createUserSigKey(id, secret))
    return undefined
  })
  return keys
}

/**
 * The SDKAppIDs the apps config names, valid or not, so a broken app is reported once, not again
 * by every client granted it; null when the apps config itself is unreadable.
 */
function declaredAppIds(appsJson: unknown): ReadonlySet<number> | null {
  return isObject(appsJson) ? new Set(Object.keys(appsJson).map(Number)) : null
}

function parseClients(
  json: unknown,
  apps: ReadonlySet<number> | null,
  problems: string[],
): ClientConfig[] {
  const clients: ClientConfig[] = []
  if (!Array.isArray(json) || json.length === 0) {
    problems.push('USERSIG_CLIENTS: must be a JSON list of callers, with at least one')
    return clients
  }
  const seenIds = new Set<string>()
  const seenTokens = new Set<string>()
  json.forEach((raw: unknown, index) => {
    const at = `USERSIG_CLIENTS: client[${index}]`
    if (!isObject(raw)) return void problems.push(`${at}: must be an object`)
    const id = raw.id
    if (typeof id !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(id)) {
      return void problems.push(`${at}: id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -`)
    }
    const where = `USERSIG_CLIENTS: client "${id}"`
    const before = problems.length
    if (seenIds.has(id)) problems.push(`${where}: the id is used twice`)
    seenIds.add(id)
    for (const field of Object.keys(raw)) {
      if (!['id', 'token', 'tokenSha256', 'apps', 'scopes', 'rateLimitPerMinute'].includes(field))
        problems.push(`${where}: unknown field "${field}"`)
    }
    let tokenSha256: Buffer | undefined
    if ((raw.token === undefined) === (raw.tokenSha256 === undefined)) {
      problems.push(`${where}: give exactly one of "token" or "tokenSha256"`)
    } else if (raw.token !== undefined) {
      if (
        typeof raw.token !== 'string' ||
        raw.token.length < MIN_TOKEN_LENGTH ||
        !/^[\x21-\x7e]+$/.test(raw.token)
      ) {
        problems.push(
          `${where}: token must be at least ${MIN_TOKEN_LENGTH} printable characters without spaces`,
        )
      } else if (raw.token.startsWith(PLACEHOLDER)) {
        problems.push(`${where}: token is still the placeholder from config/clients.example.json`)
      } else {
        tokenSha256 = createHash('sha256').update(raw.token, 'utf8').digest()
      }
    } else if (typeof raw.tokenSha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(raw.tokenSha256)) {
      problems.push(`${where}: tokenSha256 must be 64 hex digits (the SHA-256 of the token)`)
    } else {
      tokenSha256 = Buffer.from(raw.tokenSha256, 'hex')
    }
    if (tokenSha256 !== undefined) {
      const hex = tokenSha256.toString('hex')
      if (seenTokens.has(hex)) problems.push(`${where}: the same token is given to another client`)
      seenTokens.add(hex)
    }
    const rateLimitPerMinute = (raw.rateLimitPerMinute ?? null) as number | null
    if (
      rateLimitPerMinute !== null &&
      (!Number.isSafeInteger(rateLimitPerMinute) || (rateLimitPerMinute as number) < 1)
    ) {
      problems.push(
        `${where}: rateLimitPerMinute must be a positive integer (requests per minute, per replica)`,
      )
    }
    const grantedApps = new Set<number>()
    if (!Array.isArray(raw.apps) || raw.apps.length === 0) {
      problems.push(`${where}: apps must be a non-empty list of SDKAppIDs`)
    } else {
      for (const app of raw.apps as unknown[]) {
        if (typeof app !== 'number' || (apps !== null && !apps.has(app))) {
          problems.push(
            `${where}: apps lists ${JSON.stringify(app)}, which is not a configured SDKAppID`,
          )
        } else grantedApps.add(app)
      }
    }
    const scopes = new Set<Scope>()
    if (!Array.isArray(raw.scopes) || raw.scopes.length === 0) {
      problems.push(`${where}: scopes must be a non-empty list of ${SCOPES.join(', ')}`)
    } else {
      for (const scope of raw.scopes as unknown[]) {
        if (!SCOPES.includes(scope as Scope))
          problems.push(
            `${where}: unknown scope ${JSON.stringify(scope)}; known: ${SCOPES.join(', ')}`,
          )
        else scopes.add(scope as Scope)
      }
    }
    if (problems.length === before && tokenSha256 !== undefined) {
      clients.push(
        Object.freeze({ id, tokenSha256, apps: grantedApps, scopes, rateLimitPerMinute }),
      )
    }
  })
  return clients
}

function developmentDefault() {
  const { sdkAppId, keyId, clientId, scopes } = DEFAULTS.development
  const token = randomBytes(24).toString('base64url')
  const key = createUserSigKey(keyId, randomBytes(32).toString('hex'))
  const apps = new Map<number, AppConfig>([
    [
      sdkAppId,
      Object.freeze({
        sdkAppId,
        keys: [key],
        signingKey: key,
        ...APP_DEFAULTS,
      }),
    ],
  ])
  const clients: ClientConfig[] = [
    Object.freeze({
      id: clientId,
      tokenSha256: createHash('sha256').update(token).digest(),
      apps: new Set([sdkAppId]),
      scopes: new Set<Scope>(scopes),
      rateLimitPerMinute: null,
    }),
  ]
  return { apps, clients, devDefault: Object.freeze({ sdkAppId, clientId, token }) }
}
