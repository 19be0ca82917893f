// The process settings: what is read once, from environment variables, and needs a restart to
// change (listen address, log level, timeouts, workers, the JWT issuer's settings). A reload
// never changes them: only the Policy (policy.ts) is swapped.
import { availableParallelism } from 'node:os'
import { bool, makeExactValidator, port, str } from 'envalid'
import { ConfigError, Findings, type ConfigWarning } from './findings.js'
import { JWT_VARIABLES, readJwtSettings, type JwtSettings } from './jwt.js'
import type { Env } from './sources.js'
import { readTracingSettings, TRACING_VARIABLES, type TracingSettings } from './tracing.js'
import { integer, readVariables } from './variables.js'

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
  /** Requests per minute per caller (per replica and worker) when the caller sets no limit of its own; 0: none. */
  readonly rateLimitPerMinute: number
  /** Worker processes (node:cluster); 1 runs a single process. */
  readonly workers: number
  /** Serve /metrics on a listener of its own on this port (and not on PORT), or null. */
  readonly metricsPort: number | null
  /** JWT callers' issuer settings, or null without JWT callers. */
  readonly jwt: JwtSettings | null
  /** Where spans are exported (OTEL_* variables), or null: no export, and the SDK never loads. */
  readonly tracing: TracingSettings | null
  readonly warnings: readonly ConfigWarning[]
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
    METRICS_PORT: port({ default: undefined }),
  }
}

/** The variables read here (with the JWT and OpenTelemetry ones), as docs/configuration.md lists them. */
export const PROCESS_VARIABLES = [
  ...Object.keys(specs(false)),
  ...JWT_VARIABLES,
  ...TRACING_VARIABLES,
]

export function isProduction(env: Env): boolean {
  return env.NODE_ENV === 'production'
}

/**
 * Reads the process settings from the environment.
 *
 * @throws ConfigError listing every problem by variable.
 */
export function loadProcessSettings(env: Env): ProcessSettings {
  const production = isProduction(env)
  const findings = new Findings(production)
  const vars = readVariables(env, specs(production), findings)
  const jwt = readJwtSettings(env, findings)
  const tracing = readTracingSettings(env, findings)
  if (vars === null || findings.problems.length > 0) throw new ConfigError(findings.problems)
  if (vars.METRICS_PORT !== undefined && vars.METRICS_PORT === vars.PORT)
    throw new ConfigError(['METRICS_PORT: must differ from PORT (it takes /metrics off PORT)'])
  if (
    production &&
    vars.METRICS_PORT === undefined &&
    env.USERSIG_METRICS_TOKEN === undefined &&
    env.USERSIG_METRICS_TOKEN_FILE === undefined
  ) {
    findings.warn(
      'metrics_public',
      '/metrics needs no token: anyone who reaches the service sees its SDKAppIDs, key ids and traffic',
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
    jwt,
    tracing,
    warnings: Object.freeze(findings.warnings),
  })
}
