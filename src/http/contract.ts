// openapi.yaml, compiled once: request-body and response validators for the ticket routes.
//
// The generic OpenAPI middleware (express-openapi-validator) re-matches the route, re-reads the
// content type and walks its own layers on every request: ~15 % of a POST /usersig here. The
// ticket routes instead use Ajv validators compiled at start-up from the same openapi.yaml, so
// the contract stays single; field problems are reported the way that middleware reports them.
import { readFileSync } from 'node:fs'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'
import type { FieldProblem } from '../errors.js'
import { OPENAPI_PATH } from './operations.js'

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
  /** The schema problems of a problem+json body, or null when it matches. */
  readonly checkProblem: (body: unknown) => string | null
}

/** Compiles every operation of openapi.yaml (the file by default). */
export function compileContract(specText = readFileSync(OPENAPI_PATH, 'utf8')): Contract {
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

  const operations = new Map<string, OperationContract>()
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const at = `/paths/${escape(path)}/${method}`
      const body = operation.requestBody?.content?.['application/json']?.schema
      const checkBody =
        body === undefined
          ? undefined
          : compile(`${at}/requestBody/content/application~1json/schema`)
      const responses = new Map<number, ValidateFunction>()
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const target = response.$ref?.replace(/^#/, '') ?? `${at}/responses/${status}`
        const content = (
          response.$ref === undefined
            ? response.content
            : spec.components.responses[target.split('/').pop() as string]?.content
        ) as Record<string, unknown> | undefined
        const type = content === undefined ? undefined : Object.keys(content)[0]
        if (type === undefined || !type.includes('json')) continue
        responses.set(Number(status), compile(`${target}/content/${escape(type)}/schema`))
      }
      operations.set(`${method.toUpperCase()} ${path}`, {
        checkBody: (value) => {
          if (checkBody === undefined || checkBody(value)) return null
          return (checkBody.errors ?? []).map(fieldProblem)
        },
        checkResponse: (status, value) => {
          const check = responses.get(status)
          if (check === undefined) return `status ${status} is not documented`
          return check(value) ? null : ajv.errorsText(check.errors)
        },
      })
    }
  }
  const problem = compile('/components/schemas/Problem')
  return {
    operation: (path, method) => operations.get(`${method} ${path}`),
    checkProblem: (value) => (problem(value) ? null : ajv.errorsText(problem.errors)),
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
