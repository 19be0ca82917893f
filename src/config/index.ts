// Configuration, by concept: process settings (process.ts, restart-only), the policy a reload
// swaps (policy.ts: apps.ts, clients.ts, the JWT secret of jwt.ts, development.ts), and how
// documents and files are read (sources.ts, json.ts, schema.ts). Messages name the variable
// actually used and the app or client id, never a secret's value.
import { ConfigError } from './findings.js'
import { JWT_VARIABLES } from './jwt.js'
import { POLICY_VARIABLES, loadPolicy, type Policy } from './policy.js'
import {
  PROCESS_VARIABLES,
  loadProcessSettings,
  type ProcessSettings,
  type Runtime,
} from './process.js'
import { readConfigFile, type Env, type ReadFile } from './sources.js'

export type { AppConfig } from './apps.js'
export type { ClientConfig } from './clients.js'
export { APP_DEFAULTS, SCOPES, type Scope } from './defaults.js'
export { SECRET_FILE_VARIABLES } from './file-access.js'
export { ConfigError, WARNINGS, type ConfigWarning, type WarningCode } from './findings.js'
export type { JwtConfig } from './jwt.js'
export { loadPolicy, type Policy } from './policy.js'
export type { ProcessSettings, RateLimitScope, Runtime } from './process.js'
export type { RedisSettings } from './redis.js'
export type { TracingSettings } from './tracing.js'
export { MAX_FILE_BYTES, readConfigFile, type Env, type ReadFile } from './sources.js'
export { loadTlsPair, type TlsPair, type TlsSettings } from './tls.js'

/**
 * The whole configuration. `process` is read once and needs a restart to change; `policy` is
 * what a reload swaps (LiveConfig holds the pair, and swaps only the policy).
 */
export interface Config {
  readonly process: ProcessSettings
  readonly policy: Policy
}

/** Every environment variable the service reads (docs/configuration.md and .env.example list them; a test checks). */
export const CONFIG_VARIABLES: readonly string[] = [
  ...new Set([...PROCESS_VARIABLES, ...POLICY_VARIABLES, ...JWT_VARIABLES]),
]

/**
 * Reads and checks the whole configuration from environment variables (and the files that
 * `*_FILE` variables name), reporting every problem at once. `runtime`: the Node.js and the day
 * the end-of-life warning is judged by (the running ones by default).
 *
 * @throws ConfigError listing each problem by variable, app id and key or client id.
 */
export function loadConfig(
  env: Env,
  readFile: ReadFile = readConfigFile,
  options: {
    /** How the policy's files are read, when not like the process settings' (main.ts records each apart). */
    readonly readPolicyFile?: ReadFile
    /** The running Node.js and today (tests): the end-of-life warning. */
    readonly runtime?: Runtime
  } = {},
): Config {
  const problems: string[] = []
  const attempt = <T>(load: () => T): T | null => {
    try {
      return load()
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      problems.push(...error.problems)
      return null
    }
  }
  const settings = attempt(() => loadProcessSettings(env, readFile, options.runtime))
  // Read even when the settings are refused, so that every problem is reported at once.
  const policy = attempt(() =>
    loadPolicy(env, settings?.jwt ?? null, options.readPolicyFile ?? readFile),
  )
  if (settings === null || policy === null) throw new ConfigError(problems)
  return Object.freeze({ process: settings, policy })
}
