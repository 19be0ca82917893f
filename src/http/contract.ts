// openapi.yaml, compiled once at start-up with Ajv: request-body and response validators for
// every operation, and the guard that holds the Express routes to the same contract.
//
// Why not a generic OpenAPI middleware (express-openapi-validator, used before): it re-matched
// the route, re-read the content type and walked its own layers on every request (~15 % of a
// POST /usersig), and kept a second compiled copy of the spec (~7 MB of RSS). Field problems are
// still reported the way it reported them (a missing or unknown member by its own path).
import { readFileSync } from 'node:fs'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { RequestHandler } from 'express'
import { parse } from 'yaml'
import { ServiceError, type FieldProblem } from '../errors.js'

export const OPENAPI_PATH = new URL('../../openapi.yaml', import.meta.url)
export const CONTRACT_MISMATCH = 'The request does not match the API contract; see errors.'

interface Operation {
  readonly requestBody?: {
    readonly content?: Record<string, { readonly schema?: object }>
  }
  readonly responses?: Record<string, { readonly $ref?: string; readonly content?: object }>
}
interface Spec {
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: { readonly responses: Record<string, { readonly content?: object }> }
}

/** Validators for one operation: its JSON request body and its JSON responses by status. */
export interface OperationContract {
  /** The field problems of a request body, or null when it matches. */
  readonly checkBody: (body: unknown) => FieldProblem[] | null
  /** The schema problems of a response body, or null when it matches (tests check every response). */
  readonly checkResponse: (status: number, body: unknown) => string | null
}

/** openapi.yaml, compiled. */
export interface Contract {
  /** An operation's validators, by path and upper-case method. */
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

  const operations = new Map<string, OperationContract>()
  const methodsOf = new Map<string, string[]>()
  for (const [path, methods] of Object.entries(spec.paths)) {
    methodsOf.set(
      path,
      Object.keys(methods).map((m) => m.toUpperCase()),
    )
    for (const [method, operation] of Object.entries(methods)) {
      const at = `/paths/${escape(path)}/${method}`
      const body = operation.requestBody?.content?.['application/json']?.schema
      const checkBody =
        body === undefined
          ? undefined
          : compile(`${at}/requestBody/content/application~1json/schema`)
      const responses = new Map<number, (value: unknown) => string | null>()
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const target = response.$ref?.replace(/^#/, '') ?? `${at}/responses/${status}`
        const content = (
          response.$ref === undefined
            ? response.content
            : spec.components.responses[target.split('/').pop() as string]?.content
        ) as Record<string, unknown> | undefined
        const type = content === undefined ? undefined : Object.keys(content)[0]
        if (type === undefined || !type.includes('json')) continue
        responses.set(Number(status), schemaCheck(`${target}/content/${escape(type)}/schema`))
      }
      operations.set(`${method.toUpperCase()} ${path}`, {
        checkBody: (value) => {
          if (checkBody === undefined || checkBody(value)) return null
          return (checkBody.errors ?? []).map(fieldProblem)
        },
        checkResponse: (status, value) => {
          const check = responses.get(status)
          return check === undefined ? `status ${status} is not documented` : check(value)
        },
      })
    }
  }
  return {
    operation: (path, method) => operations.get(`${method} ${path}`),
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

/** The named query parameters as contract problems (no operation here takes any). */
export function unknownQueryParameters(names: readonly string[]): ServiceError {
  return new ServiceError('invalid_request', CONTRACT_MISMATCH, {
    errors: names.map((name) => ({
      field: `/query/${name}`,
      message: `Unknown query parameter '${name}'`,
    })),
  })
}

/**
 * After the Express routes: a path openapi.yaml describes, asked with a method it lacks, is 405
 * with `Allow` (HEAD goes with GET). Anything else passes on (to 404).
 */
export function methodNotAllowed(contract: Contract): RequestHandler {
  return function methodNotAllowedMiddleware(req, _res, next) {
    const methods = contract.methods(req.path.toLowerCase())
    const method = req.method === 'HEAD' ? 'GET' : req.method
    if (methods === undefined || methods.includes(method)) return next()
    const allow = methods.includes('GET') ? [...methods, 'HEAD'] : methods
    // RFC 9110: a 405 names the methods the resource allows.
    return next(
      new ServiceError('method_not_allowed', undefined, { headers: { Allow: allow.join(', ') } }),
    )
  }
}
