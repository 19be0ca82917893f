// The process settings: what is read once, from environment variables, and needs a restart to
// change (listen address, log level, timeouts, workers, the JWT issuer's settings). A reload
// never changes them: only the Policy (policy.ts) is swapped.
import { availableParallelism } from 'node:os'
import { bool, makeExactValidator, port, str } from 'envalid'
import { ConfigError, Findings, type ConfigWarning } from './findings.js'
import { JWT_VARIABLES, readJwtSettings, type JwtSettings } from './jwt.js'
import { readRedisSettings, REDIS_VARIABLES, type RedisSettings } from './redis.js'
import { readConfigFile, type Env, type ReadFile } from './sources.js'
import { readTlsSettings, TLS_VARIABLES, type TlsSettings } from './tls.js'
import { readTracingSettings, TRACING_VARIABLES, type TracingSettings } from './tracing.js'
import { integer, readVariables } from './variables.js'

export type RateLimitScope = 'process' | 'machine' | 'fleet'

export interface ProcessSettings {
  readonly production: boolean
  readonly host: string
  readonly port: number
  readonly logLevel: string
  readonly debugEndpoints: boolean
  /** Seconds a verified ticket's issue time may lie in the future. */
  readonly maxClockSkew: number
  readonly shutdownDelayMs: number
  readonly shutdownTimeoutMs: number
  /**
   * Tickets per minute per caller when the caller sets no limit of its own; 0: none. Counted for
   * the whole fleet in Redis (`redis`), else for the whole machine (workers share the primary's count).
   */
  readonly rateLimitPerMinute: number
  /**
   * Who shares a caller's count: each process alone, the workers of a machine (in their primary),
   * or the whole fleet (in Redis). By default the fleet with a Redis URL, else the machine.
   */
  readonly rateLimitScope: RateLimitScope
  /** The Redis where the fleet counts (scope `fleet`), or null. */
  readonly redis: RedisSettings | null
  /** Worker processes (node:cluster); 1 runs a single process. */
  readonly workers: number
  /** Serve /metrics on a listener of its own on this port (and not on PORT), or null. */
  readonly metricsPort: number | null
  /** USERSIG_METRICS_PUBLIC: /metrics on PORT without a token, deliberately (production needs a choice). */
  readonly metricsPublic: boolean
  /** JWT callers' issuer settings, or null without JWT callers. */
  readonly jwt: JwtSettings | null
  /** HTTPS: the certificate and key files and the pair read at start, or null for plain HTTP. */
  readonly tls: TlsSettings | null
  /** Where spans are exported (OTEL_* variables), or null: no export, and the SDK never loads. */
  readonly tracing: TracingSettings | null
  readonly warnings: readonly ConfigWarning[]
}

/**
 * The day each Node.js release line stops getting security fixes (nodejs.org, "Previous
 * Releases"). A line older than these is past it; a newer one is not known to be.
 */
const NODE_END_OF_LIFE: Readonly<Record<number, string>> = {
  18: '2025-04-30',
  19: '2023-06-01',
  20: '2026-04-30',
  21: '2024-06-01',
  22: '2027-04-30',
  23: '2025-06-01',
  24: '2028-04-30',
  25: '2026-06-01',
  26: '2029-04-30',
}

/** The Node.js the service runs on, and the day: what the end-of-life warning is judged by. */
export interface Runtime {
  /** `process.versions.node`, e.g. "20.20.2". */
  readonly nodeVersion: string
  readonly today: Date
}

/** The day by which `nodeVersion`'s release line reached its end of life, or null while it is supported. */
function nodeEndOfLife({ nodeVersion, today }: Runtime): string | null {
  const major = Number(nodeVersion.split('.')[0])
  const oldest = Math.min(...Object.keys(NODE_END_OF_LIFE).map(Number))
  const day = NODE_END_OF_LIFE[Math.max(major, oldest)]
  return day !== undefined && today >= new Date(`${day}T00:00:00Z`) ? day : null
}

const NON_NEGATIVE = integer(0, Number.MAX_SAFE_INTEGER, 'must be a non-negative integer')
const WORKERS = makeExactValidator<number>((input) => {
  if (!/^(auto|[1-9][0-9]?)$/.test(input) || Number(input) > 64)
    throw new Error('must be "auto" (one worker per core) or a number of workers from 1 to 64')
  return input === 'auto' ? availableParallelism() : Number(input)
})

function specs(production: boolean) {
  return {
    NODE_ENV: str({ choices: ['production', 'development', 'test'], default: 'development' }),
    HOST: str({ default: production ? '0.0.0.0' : '127.0.0.1' }),
    PORT: port({ default: 8080 }),
    LOG_LEVEL: str({
      choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    }),
    USERSIG_DEBUG_ENDPOINTS: bool({ default: !production }),
    USERSIG_MAX_CLOCK_SKEW: NON_NEGATIVE({ default: 300 }),
    SHUTDOWN_DELAY_MS: NON_NEGATIVE({ default: 0 }),
    SHUTDOWN_TIMEOUT_MS: NON_NEGATIVE({ default: 10_000 }),
    WEB_CONCURRENCY: WORKERS({ default: 1 }),
    USERSIG_RATE_LIMIT_PER_MINUTE: NON_NEGATIVE({ default: 60_000 }),
    USERSIG_RATE_LIMIT_SCOPE: str({
      choices: ['process', 'machine', 'fleet'],
      default: undefined,
    }),
    METRICS_PORT: port({ default: undefined }),
    USERSIG_METRICS_PUBLIC: bool({ default: false }),
  }
}

/** The variables read here (with the JWT, Redis, TLS and OpenTelemetry ones), as docs/configuration.md lists them. */
export const PROCESS_VARIABLES = [
  ...Object.keys(specs(false)),
  ...JWT_VARIABLES,
  ...REDIS_VARIABLES,
  ...TLS_VARIABLES,
  ...TRACING_VARIABLES,
]

export function isProduction(env: Env): boolean {
  return env.NODE_ENV === 'production'
}

/**
 * Reads the process settings from the environment, and the TLS certificate and key when set;
 * `runtime` (the running Node.js, today by default) decides the end-of-life warning.
 *
 * @throws ConfigError listing every problem by variable.
 */
export function loadProcessSettings(
  env: Env,
  readFile: ReadFile = readConfigFile,
  runtime: Runtime = { nodeVersion: process.versions.node, today: new Date() },
): ProcessSettings {
  const production = isProduction(env)
  const findings = new Findings(production)
  const vars = readVariables(env, specs(production), findings)
  const jwt = readJwtSettings(env, findings)
  // `readFile` is a reader of its own (loadConfig's), apart from the policy's: a policy reload
  // compares the policy's files alone. A cluster worker reads these files as its primary read
  // them at start (the TLS pair then reloads on its own: src/tls.ts).
  const redis = readRedisSettings(env, readFile, findings)
  const tls = readTlsSettings(env, readFile, findings)
  const tracing = readTracingSettings(env, findings)
  if (vars === null || findings.problems.length > 0) throw new ConfigError(findings.problems)
  if (vars.METRICS_PORT !== undefined && vars.METRICS_PORT === vars.PORT)
    throw new ConfigError(['METRICS_PORT: must differ from PORT (it takes /metrics off PORT)'])
  const rateLimitScope = (vars.USERSIG_RATE_LIMIT_SCOPE ??
    (redis === null ? 'machine' : 'fleet')) as RateLimitScope
  if (rateLimitScope === 'fleet' && redis === null)
    throw new ConfigError([
      'USERSIG_RATE_LIMIT_SCOPE: fleet counts in Redis: set USERSIG_REDIS_URL (or _FILE)',
    ])
  if (rateLimitScope !== 'fleet' && redis !== null)
    throw new ConfigError([
      `USERSIG_RATE_LIMIT_SCOPE: ${rateLimitScope} counts without Redis, but USERSIG_REDIS_URL is set: unset one of them`,
    ])
  const metricsToken =
    env.USERSIG_METRICS_TOKEN !== undefined || env.USERSIG_METRICS_TOKEN_FILE !== undefined
  if (vars.METRICS_PORT === undefined && !metricsToken) {
    // Which apps and keys exist, and their traffic, are not for whoever reaches the port.
    if (production && !vars.USERSIG_METRICS_PUBLIC) {
      throw new ConfigError([
        'USERSIG_METRICS_TOKEN: /metrics would be public in production: set USERSIG_METRICS_TOKEN (or _FILE) to require a bearer token, METRICS_PORT to serve it on a listener of its own, or USERSIG_METRICS_PUBLIC=true to make it public deliberately',
      ])
    }
    if (production) {
      findings.warn(
        'metrics_public',
        'USERSIG_METRICS_PUBLIC: /metrics needs no token: anyone who reaches the service sees its SDKAppIDs, key ids and traffic',
      )
    }
  }
  const endOfLife = nodeEndOfLife(runtime)
  if (production && endOfLife !== null) {
    findings.warn(
      'node_end_of_life',
      `Node.js ${runtime.nodeVersion} runs this service: its release line reached its end of life by ${endOfLife} and gets no more security fixes`,
    )
  }
  if (production && vars.USERSIG_DEBUG_ENDPOINTS) {
    findings.warn(
      'debug_endpoints_on',
      'USERSIG_DEBUG_ENDPOINTS: on in production: POST /usersig/verify checks tickets for callers with the usersig:verify scope, and the /debug page is served to anyone who can reach the service',
    )
  }
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
    workers: vars.WEB_CONCURRENCY,
    metricsPort: vars.METRICS_PORT ?? null,
    metricsPublic: vars.USERSIG_METRICS_PUBLIC,
    rateLimitScope,
    redis,
    jwt,
    tls,
    tracing,
    warnings: Object.freeze(findings.warnings),
  })
}
