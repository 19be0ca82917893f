// The apps: SDKAppID -> keys (the first signs, all verify) and limits. The document's shape is
// apps-schema.ts; here, the rules across fields and what production refuses or warns about.
import { createUserSigKey, type UserIdPolicy, type UserSigKey } from '../usersig/index.js'
import { APPS_SCHEMA } from './apps-schema.js'
import { APP_DEFAULTS } from './defaults.js'
import { shown, weakSecret, type Findings } from './findings.js'
import { parseDocument } from './json.js'
import { checkDocument, compileDocument, exampleOf, isId, type DocumentProblem } from './schema.js'
import type { Source } from './sources.js'

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
  /** A PrivateMapKey's longest validity: separate from `maxExpire`, a UserSig's. */
  readonly privateMapKeyMaxExpire: number
  readonly userIdPolicy: UserIdPolicy
  /**
   * UserIDs only a caller with `usersig:issue-admin` may get tickets for: Tencent IM's App admin
   * accounts, whose UserSig authenticates server-side REST API calls. Exact, case-sensitive.
   */
  readonly reservedUserIds: ReadonlySet<string>
}

const EXPIRES = [
  'defaultExpire',
  'minExpire',
  'maxExpire',
  'privateMapKeyDefaultExpire',
  'privateMapKeyMaxExpire',
] as const

/** Past this, production warns: what Tencent's console and the official libraries allow. */
const LONG_EXPIRE = 180 * 86_400

const validate = compileDocument(APPS_SCHEMA)

interface RawKey {
  readonly id: string
  readonly secret: string
}
/** An app as the schema lets it through: its keys, and any of the optional fields. */
type RawApp = { readonly keys: readonly RawKey[] } & Partial<
  Omit<AppConfig, 'sdkAppId' | 'keys' | 'signingKey' | 'reservedUserIds'> & {
    readonly reservedUserIds: readonly string[]
  }
>

export interface Apps {
  readonly apps: ReadonlyMap<number, AppConfig>
  /**
   * Every SDKAppID the document names, valid or not, so that a broken app is reported once, not
   * again by every client granted it; null when the document itself is unusable.
   */
  readonly declared: ReadonlySet<number> | null
}

/** Reads the apps document; every problem goes to `findings`, and only sound apps are returned. */
export function readApps(source: Source, findings: Findings): Apps {
  const apps = new Map<number, AppConfig>()
  const document = parseDocument(source, findings)
  if (document === null) return { apps, declared: null }
  const problems = checkDocument(validate, document, exampleOf(source, 'config/apps.example.json'))
  const topLevel = problems.filter((p) => p.path.length === 0)
  if (topLevel.length > 0) {
    for (const p of topLevel) findings.problem(`${source.variable}: ${p.message}`)
    return { apps, declared: null }
  }
  const entries = Object.entries(document as Record<string, unknown>)
  for (const [appKey, raw] of entries) {
    const where = `${source.variable}: app ${shown(appKey)}`
    const own = problems.filter((p) => p.path[0] === appKey)
    const before = findings.problems.length
    const badName = own.find((p) => p.ofName)
    if (badName !== undefined) {
      // Not an SDKAppID: nothing else about it is worth reading.
      findings.problem(`${where}: ${badName.message}`)
      continue
    }
    for (const p of own) {
      const entry = keyEntry(raw, p)
      if (entry === undefined) findings.problem(`${where}: ${p.message}`)
      else if (entry.named) findings.problem(`${where}: key "${entry.id}": ${p.message}`)
      // A key without a usable id is reported by its index, and only for its id or shape.
      else if (p.path.length === 3 || p.path[3] === 'id')
        findings.problem(`${where}: keys[${entry.index}]: ${p.message}`)
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) continue
    const app = raw as RawApp
    checkKeys(app, own, where, findings)
    // Every field the schema allows, with config/defaults.json filling in those left out.
    const { keys: rawKeys, ...fields } = app
    const settled = { ...APP_DEFAULTS, ...fields }
    checkLimits(settled, own, where, findings)
    if (findings.problems.length === before) {
      const sdkAppId = Number(appKey)
      const keys = rawKeys.map((key) => createUserSigKey(key.id, key.secret))
      // the schema requires at least one key
      const signingKey = keys[0] as UserSigKey
      const reservedUserIds = new Set(settled.reservedUserIds)
      apps.set(sdkAppId, Object.freeze({ ...settled, sdkAppId, keys, signingKey, reservedUserIds }))
    }
  }
  return { apps, declared: new Set(entries.map(([key]) => Number(key))) }
}

/** The key entry a problem is about, by index, and whether it has an id to be named by. */
function keyEntry(
  raw: unknown,
  p: DocumentProblem,
): { index: number; named: boolean; id: string } | undefined {
  if (p.path[1] !== 'keys' || p.path.length < 3) return undefined
  const index = Number(p.path[2])
  const entry = (raw as { keys: unknown[] }).keys[index] as { id?: unknown } | undefined
  const id = entry?.id
  return isId(id) ? { index, named: true, id } : { index, named: false, id: '' }
}

/** Ids and secrets given twice, and secrets too easy to guess: on keys whose shape is sound. */
function checkKeys(app: RawApp, own: DocumentProblem[], where: string, findings: Findings): void {
  if (!Array.isArray(app.keys) || own.some((p) => p.path[1] === 'keys' && p.path.length === 2))
    return
  const ids = new Set<string>()
  const secrets = new Set<string>()
  app.keys.forEach((key, index) => {
    if (own.some((p) => p.path[1] === 'keys' && p.path[2] === String(index))) return
    const named = `${where}: key "${key.id}"`
    if (ids.has(key.id)) findings.problem(`${named}: the id is used twice`)
    if (secrets.has(key.secret)) findings.problem(`${named}: the same secret is listed twice`)
    ids.add(key.id)
    secrets.add(key.secret)
    const weak = weakSecret(key.secret)
    if (weak !== null) findings.refuseInProduction('weak_secret', `${named}: secret ${weak}`)
  })
}

/** The expiry limits, once each is sound on its own: in order, and not too long for production. */
function checkLimits(
  limits: Pick<AppConfig, (typeof EXPIRES)[number]>,
  own: DocumentProblem[],
  where: string,
  findings: Findings,
): void {
  if (own.some((p) => p.path.length === 1 || EXPIRES.includes(p.path[1] as never))) return
  // A UserSig's expire lies in [minExpire, maxExpire], a PrivateMapKey's in
  // [minExpire, privateMapKeyMaxExpire]; each default within its own range.
  for (const max of ['maxExpire', 'privateMapKeyMaxExpire'] as const) {
    if (limits.minExpire > limits[max])
      findings.problem(`${where}: minExpire is greater than ${max}`)
  }
  for (const [name, max] of [
    ['defaultExpire', 'maxExpire'],
    ['privateMapKeyDefaultExpire', 'privateMapKeyMaxExpire'],
  ] as const) {
    if (
      limits.minExpire <= limits[max] &&
      (limits[name] < limits.minExpire || limits[name] > limits[max])
    )
      findings.problem(`${where}: ${name} is outside [minExpire, ${max}]`)
  }
  if (!findings.production) return
  for (const name of ['defaultExpire', 'maxExpire'] as const) {
    if (limits[name] > LONG_EXPIRE) {
      findings.warn(
        'long_expiry',
        `${where}: ${name} is ${Math.floor(limits[name] / 86_400)} days, over 180: a leaked ticket stays valid that long, and an old key must stay that long after a rotation`,
      )
    }
  }
}
