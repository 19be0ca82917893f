// openapi.yaml, compiled once at start-up with Ajv: every operation's path, method, security,
// request-body validator and response checks. The front door routes from it and the route table
// must match it operation for operation (src/http/server.ts checks that at construction).
//
// Why not a generic OpenAPI middleware (express-openapi-validator, used before): it re-matched
// the route, re-read the content type and walked its own layers on every request (~15 % of a
// POST /usersig), and kept a second compiled copy of the spec (~7 MB of RSS). Field problems are
// still reported the way it reported them (a missing or unknown member by its own path).
import { readFileSync } from 'node:fs'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'
import { ServiceError, type FieldProblem } from '../errors.js'

export const OPENAPI_PATH = new URL('../../openapi.yaml', import.meta.url)
export const CONTRACT_MISMATCH = 'The request does not match the API contract; see errors.'

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

interface SpecOperation {
  readonly operationId?: string
  readonly 'x-debug-only'?: boolean
  readonly security?: readonly unknown[]
  readonly parameters?: readonly { readonly in?: string; readonly name?: string }[]
  readonly requestBody?: { readonly content?: Record<string, { readonly schema?: object }> }
  readonly responses?: Record<string, { readonly $ref?: string; readonly content?: object }>
}
interface Spec {
  readonly security?: readonly unknown[]
  readonly paths: Record<string, Record<string, SpecOperation>>
  readonly components: { readonly responses: Record<string, { readonly content?: object }> }
}

/** One operation of openapi.yaml, compiled. */
export interface OperationContract {
  readonly operationId: string
  /** The path as written in openapi.yaml, e.g. `/usersig/batch`. */
  readonly path: string
  /** Upper case, e.g. `POST`. */
  readonly method: string
  /** Whether callers must authenticate (the operation does not override `security` with `[]`). */
  readonly authenticated: boolean
  /** Whether it takes a JSON request body. */
  readonly hasBody: boolean
  /** `x-debug-only`: served only while USERSIG_DEBUG_ENDPOINTS is on; otherwise absent (404). */
  readonly debugOnly: boolean
  /** The query parameters it declares (none today: any other is a contract problem). */
  readonly queryParameters: ReadonlySet<string>
  /** The field problems of a request body, or null when it matches. */
  readonly checkBody: (body: unknown) => FieldProblem[] | null
  /**
   * The problems of a response (tests check every response): an undocumented status, a media
   * type the status does not document, or a JSON body outside its schema; null when it matches.
   */
  readonly checkResponse: (status: number, mediaType: string, body: unknown) => string | null
}

/** openapi.yaml, compiled. */
export interface Contract {
  /** Every operation, in the order of the document. */
  readonly operations: readonly OperationContract[]
  /** An operation by path (as written) and upper-case method. */
  readonly operation: (path: string, method: string) => OperationContract | undefined
  /** The upper-case methods a path has, or undefined when openapi.yaml has no such path. */
  readonly methods: (path: string) => readonly string[] | undefined
  /** The schema problems of a problem+json body, or null when it matches. */
  readonly checkProblem: (body: unknown) => string | null
}

// openapi.yaml is read and compiled once per process, however many apps are built (tests build many).
let shipped: Contract | undefined

/**
 * Compiles every operation of openapi.yaml (the shipped file by default, compiled once). Request
 * bodies are compiled at once; response schemas, which only tests check, on first use.
 */
export function compileContract(specText?: string): Contract {
  if (specText === undefined)
    return (shipped ??= compileContract(readFileSync(OPENAPI_PATH, 'utf8')))
  const spec = parse(specText) as Spec
  // OpenAPI 3.1 schemas are JSON Schema 2020-12. No coercion, no defaults: the body is what was sent.
  const ajv = new Ajv2020({ allErrors: false, coerceTypes: false, useDefaults: false })
  addFormats.default(ajv, ['uri'])
  // The whole document is one schema resource, so `#/components/schemas/...` references resolve;
  // its OpenAPI-only members are not JSON Schema keywords.
  for (const keyword of ['openapi', 'info', 'servers', 'security', 'tags', 'paths', 'components']) {
    ajv.addKeyword(keyword)
  }
  const ROOT = 'urn:usersig-service:openapi'
  ajv.addSchema({ ...spec, $id: ROOT })
  const compile = (pointer: string): ValidateFunction => ajv.compile({ $ref: `${ROOT}#${pointer}` })
  const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1')
  const schemaCheck = (pointer: string) => {
    let check: ValidateFunction | undefined
    return (value: unknown): string | null => {
      check ??= compile(pointer)
      return check(value) ? null : ajv.errorsText(check.errors)
    }
  }
  const globallySecured = (spec.security ?? []).length > 0

  const operations: OperationContract[] = []
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const operation = item[method]
      if (operation === undefined) continue
      const at = `/paths/${escape(path)}/${method}`
      const bodySchema = operation.requestBody?.content?.['application/json']?.schema
      const checkBody =
        bodySchema === undefined
          ? undefined
          : compile(`${at}/requestBody/content/application~1json/schema`)
      // status -> media type -> a check of the body (null: not JSON, nothing to check)
      const responses = new Map<number, Map<string, ((value: unknown) => string | null) | null>>()
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const target = response.$ref?.replace(/^#/, '') ?? `${at}/responses/${status}`
        const content = (
          response.$ref === undefined
            ? response.content
            : spec.components.responses[target.split('/').pop() as string]?.content
        ) as Record<string, unknown> | undefined
        const types = new Map<string, ((value: unknown) => string | null) | null>()
        for (const type of Object.keys(content ?? {})) {
          types.set(
            type,
            type.endsWith('json') ? schemaCheck(`${target}/content/${escape(type)}/schema`) : null,
          )
        }
        responses.set(Number(status), types)
      }
      operations.push({
        operationId: operation.operationId ?? `${method.toUpperCase()} ${path}`,
        path,
        method: method.toUpperCase(),
        authenticated: (operation.security?.length ?? (globallySecured ? 1 : 0)) > 0,
        hasBody: checkBody !== undefined,
        debugOnly: operation['x-debug-only'] === true,
        queryParameters: new Set(
          (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name as string),
        ),
        checkBody: (value) => {
          if (checkBody === undefined || checkBody(value)) return null
          return (checkBody.errors ?? []).map(fieldProblem)
        },
        checkResponse: (status, mediaType, value) => {
          const types = responses.get(status)
          if (types === undefined) return `status ${status} is not documented`
          if (!types.has(mediaType)) return `${mediaType} is not documented for status ${status}`
          return types.get(mediaType)?.(value) ?? null
        },
      })
    }
  }
  const byKey = new Map(operations.map((op) => [`${op.method} ${op.path}`, op]))
  const methodsOf = new Map<string, string[]>()
  for (const op of operations)
    methodsOf.set(op.path, [...(methodsOf.get(op.path) ?? []), op.method])
  return {
    operations,
    operation: (path, method) => byKey.get(`${method} ${path}`),
    methods: (path) => methodsOf.get(path),
    checkProblem: schemaCheck('/components/schemas/Problem'),
  }
}

/**
 * One Ajv error as a field problem: a missing or unexpected member is named by its own path, as
 * express-openapi-validator names it (so `{}` reports `/sdkAppId`, and `{"role": 1}` `/role`).
 */
function fieldProblem(error: ErrorObject): FieldProblem {
  const params = error.params as { missingProperty?: string; additionalProperty?: string }
  const member = params.missingProperty ?? params.additionalProperty
  const field = member === undefined ? error.instancePath : `${error.instancePath}/${member}`
  return { field: field === '' ? '/' : field, message: error.message ?? 'is invalid' }
}

/** A 400 for unknown query parameters names at most this many of them... */
export const NAMED_QUERY_PARAMETERS = 3
/** ...each cut to this many characters, so that the answer is small whatever the request. */
export const SHOWN_QUERY_NAME_LENGTH = 64

/**
 * Query parameters the operation does not declare, as one contract problem: how many there are,
 * and the first few by name (3500 names once got a 228 KB answer to a 13.7 KB request).
 */
export function unknownQueryParameters(names: readonly string[]): ServiceError {
  const count = names.length
  const named = names
    .slice(0, NAMED_QUERY_PARAMETERS)
    .map((name) =>
      name.length > SHOWN_QUERY_NAME_LENGTH ? `${name.slice(0, SHOWN_QUERY_NAME_LENGTH)}...` : name,
    )
  const which = count > named.length ? `the first ${named.length}` : count === 1 ? 'it' : 'them'
  return new ServiceError(
    'invalid_request',
    `The request has ${count} query parameter${count === 1 ? '' : 's'} the operation does not declare; errors names ${which}.`,
    {
      errors: named.map((name) => ({
        field: `/query/${name}`,
        message: `Unknown query parameter '${name}'`,
      })),
    },
  )
}
