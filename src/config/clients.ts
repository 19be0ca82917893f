// The static callers. The document's shape is clients-schema.ts; here, the rules across fields
// and across clients, and what production refuses or warns about.
import { createHash } from 'node:crypto'
import { CLIENTS_SCHEMA } from './clients-schema.js'
import type { Scope } from './defaults.js'
import { weakSecret, type Findings } from './findings.js'
import { parseDocument } from './json.js'
import { checkDocument, compileDocument, exampleOf, isId } from './schema.js'
import type { Source } from './sources.js'
import { compileUserIdPattern, type UserIdPattern } from './user-id-pattern.js'

export interface ClientConfig {
  readonly id: string
  /** SHA-256 of the bearer token: the plain token is not kept. */
  readonly tokenSha256: Buffer
  readonly apps: ReadonlySet<number>
  readonly scopes: ReadonlySet<Scope>
  /** This caller's own limit, or null for USERSIG_RATE_LIMIT_PER_MINUTE. */
  readonly rateLimitPerMinute: number | null
  /** The UserIDs it may mint tickets for (the whole UserID must match), or null for any. */
  readonly userIdPattern: UserIdPattern | null
  /** The PrivateMapKey privileges it may grant, as a bit map (255: all). */
  readonly maxPrivileges: number
}

/** Every PrivateMapKey privilege: a caller without `maxPrivileges` may grant them all. */
export const ALL_PRIVILEGES = 255

interface RawClient {
  readonly id: string
  readonly token?: string
  readonly tokenSha256?: string
  readonly apps: readonly number[]
  readonly scopes: readonly Scope[]
  readonly rateLimitPerMinute?: number
  readonly userIdPattern?: string
  readonly maxPrivileges?: number
}

const validate = compileDocument(CLIENTS_SCHEMA)

/**
 * Reads the clients document; every problem goes to `findings`, and only sound clients are
 * returned. `declared`: the SDKAppIDs the apps document names (null when it is unusable, so that
 * its failure is not reported again by every client).
 */
export function readClients(
  source: Source,
  declared: ReadonlySet<number> | null,
  findings: Findings,
): ClientConfig[] {
  const clients: ClientConfig[] = []
  const document = parseDocument(source, findings)
  if (document === null) return clients
  const problems = checkDocument(
    validate,
    document,
    exampleOf(source, 'config/clients.example.json'),
  )
  const topLevel = problems.filter((p) => p.path.length === 0)
  if (topLevel.length > 0) {
    for (const p of topLevel) findings.problem(`${source.variable}: ${p.message}`)
    return clients
  }
  const ids = new Set<string>()
  const tokens = new Set<string>()
  ;(document as unknown[]).forEach((entry, index) => {
    const own = problems.filter((p) => p.path[0] === String(index))
    const raw = entry as RawClient
    if (typeof raw !== 'object' || raw === null || !isId(raw.id)) {
      // Without an id to be named by, only its shape and id are reported, by index.
      for (const p of own.filter((p) => p.path.length === 1 || p.path[1] === 'id'))
        findings.problem(`${source.variable}: client[${index}]: ${p.message}`)
      return
    }
    const where = `${source.variable}: client "${raw.id}"`
    const before = findings.problems.length
    if (ids.has(raw.id)) findings.problem(`${where}: the id is used twice`)
    ids.add(raw.id)
    for (const p of own) findings.problem(`${where}: ${p.message}`)
    const tokenSha256 = digestOf(raw, own.length === 0, where, findings)
    if (tokenSha256 !== undefined) {
      const hex = tokenSha256.toString('hex')
      if (tokens.has(hex)) findings.problem(`${where}: the same token is given to another client`)
      tokens.add(hex)
    }
    let userIdPattern: UserIdPattern | null = null
    if (raw.userIdPattern !== undefined && !own.some((p) => p.path[1] === 'userIdPattern')) {
      const compiled = compileUserIdPattern(raw.userIdPattern)
      if ('problem' in compiled) findings.problem(`${where}: userIdPattern ${compiled.problem}`)
      else userIdPattern = compiled.pattern
    }
    const granted = own.some((p) => p.path[1] === 'apps' || p.path.length === 1) ? [] : raw.apps
    for (const app of granted) {
      if (declared !== null && !declared.has(app))
        findings.problem(`${where}: apps lists ${app}, which is not a configured SDKAppID`)
    }
    if (findings.problems.length === before && tokenSha256 !== undefined) {
      clients.push(
        Object.freeze({
          id: raw.id,
          tokenSha256,
          apps: new Set(raw.apps),
          scopes: new Set(raw.scopes),
          rateLimitPerMinute: raw.rateLimitPerMinute ?? null,
          userIdPattern,
          maxPrivileges: raw.maxPrivileges ?? ALL_PRIVILEGES,
        }),
      )
    }
  })
  return clients
}

/** The token's SHA-256, from exactly one of `token` and `tokenSha256`; undefined when neither is usable. */
function digestOf(
  raw: RawClient,
  sound: boolean,
  where: string,
  findings: Findings,
): Buffer | undefined {
  if ((raw.token === undefined) === (raw.tokenSha256 === undefined)) {
    findings.problem(`${where}: give exactly one of "token" or "tokenSha256"`)
    return undefined
  }
  if (!sound) return undefined
  if (raw.tokenSha256 !== undefined) return Buffer.from(raw.tokenSha256, 'hex')
  const token = raw.token as string
  const weak = weakSecret(token)
  if (weak !== null) findings.refuseInProduction('weak_secret', `${where}: token ${weak}`)
  if (findings.production) {
    findings.warn(
      'plaintext_token',
      `${where}: its "token" is in the configuration in plain text; give "tokenSha256" (the token's SHA-256) so that reading the configuration is not enough to call the service`,
    )
  }
  return createHash('sha256').update(token, 'utf8').digest()
}
