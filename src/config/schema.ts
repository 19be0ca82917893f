// The apps and clients documents are checked against JSON Schemas (apps-schema.ts,
// clients-schema.ts) with Ajv, the validator that already checks the API contract. Each schema
// node carries its operator-facing message in a `message` annotation (one string, or one per
// keyword), so a rule and its wording sit together; the rules that span fields are in code.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import { checkSecret, MAX_SDKAPPID } from '../usersig/index.js'
import { shown } from './findings.js'
import type { Source } from './sources.js'

/** A schema node's message: one for any failure, or one per failing keyword (`*` for the rest). */
export type Message = string | Readonly<Record<string, string>>

/** One failure, by where it is in the document (JSON pointer segments) and in the operator's words. */
export interface DocumentProblem {
  readonly path: readonly string[]
  readonly message: string
  /** The failure is of the last segment's name (an object's key), not of its value. */
  readonly ofName: boolean
}

const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true })
ajv.addKeyword({ keyword: 'message', schemaType: ['string', 'object'] })
ajv.addFormat('sdkappid', (key: string) => /^[1-9][0-9]*$/.test(key) && Number(key) <= MAX_SDKAPPID)
/** `usersigSecret: true`: the codec's rule, in its words, so the CLI refuses exactly what the service does. */
function usersigSecret(_schema: boolean, data: unknown): boolean {
  const problem = checkSecret(data)
  usersigSecret.errors =
    problem === null ? [] : [{ keyword: 'usersigSecret', message: problem, params: {} }]
  return problem === null
}
usersigSecret.errors = [] as Partial<ErrorObject>[]
ajv.addKeyword({
  keyword: 'usersigSecret',
  schemaType: 'boolean',
  validate: usersigSecret,
  errors: true,
})

/** Compiles a document schema once. */
export function compileDocument(schema: object): ValidateFunction {
  return ajv.compile(schema)
}

/**
 * Every failure of `document`, in document order, each with its message. `example` names where
 * an example's placeholder would have come from (`{example}` in a message).
 */
export function checkDocument(
  validate: ValidateFunction,
  document: unknown,
  example: string,
): DocumentProblem[] {
  if (validate(document)) return []
  return (validate.errors ?? []).flatMap((error): DocumentProblem[] => {
    // Reported by the name's own schema, with the name as `propertyName`.
    if (error.keyword === 'propertyNames') return []
    const path = error.instancePath.split('/').slice(1).map(unescape)
    const ofName = error.propertyName !== undefined
    if (error.propertyName !== undefined) path.push(error.propertyName)
    return [{ path, message: messageOf(error, path).replace('{example}', example), ofName }]
  })
}

function messageOf(error: ErrorObject, path: readonly string[]): string {
  const schema = error.parentSchema as
    { message?: Message; properties?: Record<string, { message?: Message }> } | undefined
  if (error.keyword === 'required') {
    // A missing member fails as its own schema would: "keys must be a list of ...".
    const missing = (error.params as { missingProperty: string }).missingProperty
    const own = pick(schema?.properties?.[missing]?.message, 'required')
    return own === undefined ? `${shown(missing)} is missing` : fill(own, missing, undefined)
  }
  if (error.keyword === 'additionalProperties') {
    return `unknown field ${shown((error.params as { additionalProperty: string }).additionalProperty)}`
  }
  const message = pick(schema?.message, error.keyword) ?? error.message ?? 'is not valid'
  return fill(message, path.at(-1), error.data)
}

function pick(message: Message | undefined, keyword: string): string | undefined {
  return typeof message === 'string' ? message : (message?.[keyword] ?? message?.['*'])
}

/** `{field}`: the member's name; `{value}`: the value, as `shown` allows. */
function fill(message: string, field: string | undefined, value: unknown): string {
  return message.replace('{field}', field ?? '').replace('{value}', shown(value))
}

function unescape(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}

/** The id rule for keys and clients: what shows in logs, metrics and answers. */
export const ID_PATTERN = '^[A-Za-z0-9._:-]{1,64}$'
export const ID_MESSAGE = 'id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -'
const ID = new RegExp(ID_PATTERN)
/** Whether a key or client can be named by this id in messages. */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value)
}
/** The examples' placeholders start so; refused, so an example can never go live. */
export const PLACEHOLDER_PATTERN = '^REPLACE_WITH_'

/**
 * The example a document's placeholder came from, for its message: an inline value is the line of
 * .env.example (what the README has a new user copy), a file the example file.
 */
export function exampleOf(source: Source, file: string): string {
  return source.path === null ? `.env.example's ${source.variable} line` : file
}
