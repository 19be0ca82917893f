// What loading a configuration found: problems (the configuration is refused) and warnings (it
// runs, and the operator is told why it should not stay so). Neither ever holds a secret's value.

/** Every warning code, with what to do about it; docs/operations.md lists the same (a test checks). */
export const WARNINGS = {
  debug_endpoints_on: 'set USERSIG_DEBUG_ENDPOINTS=false (or leave it unset) in production',
  plaintext_token: 'give the caller\'s "tokenSha256" instead of its "token"',
  secret_file_permissions:
    "chmod 600 (or 0440 for the service's group); no folder writable by others",
  long_expiry: 'set defaultExpire and maxExpire to 180 days (15552000) or less',
  weak_secret: 'use the key from the console (or 32 random bytes); refused in production',
  jwt_secret_is_app_key: 'give JWT callers a secret of their own; refused in production',
  metrics_public:
    'set USERSIG_METRICS_TOKEN (or _FILE) to require a bearer token on /metrics, or METRICS_PORT to serve it on a listener of its own, instead of USERSIG_METRICS_PUBLIC=true',
  node_end_of_life:
    "run a Node.js release line that still gets security fixes: 26 (the image's), 24 or 22.12+",
} as const

export type WarningCode = keyof typeof WARNINGS

/** Something that runs but should not stay so: logged once at start and on each reload. */
export interface ConfigWarning {
  readonly warning: WarningCode
  readonly message: string
}

/** The configuration is refused: every problem, each naming the variable and the app or client. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

/** Collects what the loaders find, so that every problem is reported at once. */
export class Findings {
  readonly problems: string[] = []
  readonly warnings: ConfigWarning[] = []

  constructor(readonly production: boolean) {}

  /** Records a problem once (two rules of one field may say the same thing). */
  problem(message: string): void {
    if (!this.problems.includes(message)) this.problems.push(message)
  }

  warn(warning: WarningCode, message: string): void {
    this.warnings.push(Object.freeze({ warning, message }))
  }

  /** Refused in production; elsewhere (a laptop, a test) a warning, so that it can be tried out. */
  refuseInProduction(warning: WarningCode, message: string): void {
    if (this.production) this.problem(message)
    else this.warn(warning, message)
  }
}

/**
 * A value for a message: JSON-quoted when short, else only its length. Secrets and tokens are at
 * least 32 characters, so a value pasted in the wrong place is never echoed.
 */
export function shown(value: unknown): string {
  if (typeof value === 'string' && value.length >= 32)
    return `a string of ${value.length} characters`
  if (typeof value === 'object' && value !== null)
    return Array.isArray(value) ? 'a list' : 'an object'
  return JSON.stringify(value) ?? String(value)
}

/** Fewer distinct characters than this, and a secret is refused in production (`aaaa…`, `abab…`). */
const MIN_DISTINCT_CHARACTERS = 8

/** Why `secret` is too easy to guess, or null: a random 64-hex console key has about 16 distinct characters. */
export function weakSecret(secret: string): string | null {
  const distinct = new Set(secret).size
  return distinct < MIN_DISTINCT_CHARACTERS
    ? `has only ${distinct} distinct characters (at least ${MIN_DISTINCT_CHARACTERS}): it can be guessed`
    : null
}
