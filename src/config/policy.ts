// The policy: who may call, for which apps, with which keys. It is what a reload swaps (on SIGHUP,
// or when a `*_FILE` changes); the process settings (process.ts) stay as they were at start.
import { createHash, timingSafeEqual } from 'node:crypto'
import { readApps, type AppConfig } from './apps.js'
import { readClients, type ClientConfig } from './clients.js'
import { developmentDefault, type DevDefault } from './development.js'
import { checkSecretFiles } from './file-access.js'
import { MIN_TOKEN_LENGTH } from './clients-schema.js'
import { ConfigError, Findings, weakSecret, type ConfigWarning } from './findings.js'
import { jwtConfigured, readJwtConfig, type JwtConfig, type JwtSettings } from './jwt.js'
import { isProduction } from './process.js'
import { readSource, type Env, type ReadFile } from './sources.js'

export interface Policy {
  readonly apps: ReadonlyMap<number, AppConfig>
  readonly clients: readonly ClientConfig[]
  readonly jwt: JwtConfig | null
  /** The SHA-256 of USERSIG_METRICS_TOKEN: then /metrics needs it as a bearer token. */
  readonly metricsTokenSha256: Buffer | null
  /** Set when nothing was configured outside production: the generated demo app and token. */
  readonly devDefault: DevDefault | null
  /** What runs but should not stay so; logged at start and on each reload. */
  readonly warnings: readonly ConfigWarning[]
}

/** The variables read here, besides the JWT secret's (jwt.ts). */
export const POLICY_VARIABLES = [
  'USERSIG_APPS',
  'USERSIG_APPS_FILE',
  'USERSIG_CLIENTS',
  'USERSIG_CLIENTS_FILE',
  'USERSIG_METRICS_TOKEN',
  'USERSIG_METRICS_TOKEN_FILE',
] as const

/**
 * Reads the policy: the apps and clients documents and the JWT secret, from their variables or
 * files. `jwt`: the process's JWT settings (null without JWT callers, or when they were refused).
 *
 * @throws ConfigError listing every problem by variable, app id and key or client id.
 */
export function loadPolicy(env: Env, jwt: JwtSettings | null, readFile: ReadFile): Policy {
  const findings = new Findings(isProduction(env))
  const appsSource = readSource(env, 'USERSIG_APPS', readFile, findings)
  const clientsSource = readSource(env, 'USERSIG_CLIENTS', readFile, findings)
  const jwtConfig = readJwtConfig(env, jwt, readFile, findings)
  const metricsTokenSha256 = readMetricsToken(env, readFile, findings)
  const withJwt = jwtConfigured(env)

  if (appsSource === undefined && clientsSource === undefined && !withJwt) {
    if (!findings.production && findings.problems.length === 0)
      return Object.freeze({
        ...developmentDefault(),
        jwt: null,
        metricsTokenSha256,
        warnings: [],
      })
  }
  let apps: ReadonlyMap<number, AppConfig> = new Map()
  let declared: ReadonlySet<number> | null = null
  if (appsSource === undefined)
    findings.problem(
      'USERSIG_APPS: not set (nor USERSIG_APPS_FILE); configure at least one SDKAppID',
    )
  else if (appsSource !== null) ({ apps, declared } = readApps(appsSource, findings))
  let clients: readonly ClientConfig[] = []
  // JWT callers may stand in for static ones.
  if (clientsSource === undefined && !withJwt) {
    findings.problem(
      'USERSIG_CLIENTS: not set (nor USERSIG_CLIENTS_FILE); configure at least one caller (or JWT callers)',
    )
  } else if (clientsSource) clients = readClients(clientsSource, declared, findings)
  if (jwtConfig?.config.secret != null) {
    checkJwtSecretIsNotAnAppKey(jwtConfig.config.secret, jwtConfig.secretVariable, apps, findings)
  }
  checkSecretFiles(env, findings)
  if (findings.problems.length > 0) throw new ConfigError(findings.problems)
  return Object.freeze({
    apps,
    clients: Object.freeze(clients),
    jwt: jwtConfig?.config ?? null,
    metricsTokenSha256,
    devDefault: null,
    warnings: Object.freeze(findings.warnings),
  })
}

/** A metrics token is a caller token like any other: as long, and as hard to guess. */
function readMetricsToken(env: Env, readFile: ReadFile, findings: Findings): Buffer | null {
  const source = readSource(env, 'USERSIG_METRICS_TOKEN', readFile, findings)
  if (source === undefined || source === null) return null
  // A file usually ends with a newline the token does not have.
  const token = source.path === null ? source.text : source.text.replace(/\r?\n$/, '')
  if (token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    findings.problem(
      `${source.variable}: must be at least ${MIN_TOKEN_LENGTH} printable characters without spaces`,
    )
    return null
  }
  const weak = weakSecret(token)
  if (weak !== null)
    findings.refuseInProduction('weak_secret', `${source.variable}: the token ${weak}`)
  return createHash('sha256').update(token, 'utf8').digest()
}

/** Whoever holds an app's key could then mint caller JWTs too, and the reverse. */
function checkJwtSecretIsNotAnAppKey(
  secret: Uint8Array,
  variable: string | null,
  apps: ReadonlyMap<number, AppConfig>,
  findings: Findings,
): void {
  for (const app of apps.values()) {
    for (const key of app.keys) {
      const bytes = key.secret.export()
      if (bytes.length === secret.length && timingSafeEqual(bytes, secret)) {
        findings.refuseInProduction(
          'jwt_secret_is_app_key',
          `${variable ?? 'USERSIG_JWT_SECRET'}: the JWT secret is the secret of app ${app.sdkAppId} key "${key.id}": whoever holds the one can forge the other; give JWT callers a secret of their own`,
        )
      }
    }
  }
}
