// The contract's types: generated from openapi.yaml (schema.ts, `npm run generate:contract`) and
// shared by the handlers (src/http/) and the typed client (src/client/). A handler whose body or
// answer drifts from openapi.yaml fails `tsc`; test/contract/drift.test.ts keeps schema.ts current.
import type { components, operations, paths } from './schema.js'

export type { components, operations, paths }

/** An operationId of openapi.yaml. */
export type OperationId = keyof operations

/** The JSON request body an operation takes, or `undefined` when it takes none. */
export type RequestBody<O extends OperationId> = operations[O] extends {
  requestBody: { content: { 'application/json': infer Body } }
}
  ? Body
  : undefined

type Responses<O extends OperationId> = operations[O]['responses']

/**
 * One answer the operation documents, other than a problem (problems are thrown as ServiceError):
 * `{ status, json }` for a JSON body, `{ status, contentType, text }` for any other media type,
 * where `contentType` starts with the documented media type (parameters may follow). `headers`
 * are the response headers the answer declares (e.g. Retry-After on a 503).
 */
type AnswerFor<Status, Response> = Response extends { content: { 'application/json': infer Body } }
  ? {
      readonly status: Status
      readonly json: DeepReadonly<Body>
      readonly headers?: Readonly<Record<string, string>>
    }
  : Response extends { content: { 'application/problem+json': unknown } }
    ? never
    : Response extends { content: infer Content }
      ? {
          readonly status: Status
          readonly contentType: `${keyof Content & string}${string}`
          readonly text: string
        }
      : never

/** An answer is only read: a handler may give readonly arrays and objects. */
type DeepReadonly<T> = T extends readonly (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T

/** What a handler of operation `O` may answer. */
export type Answer<O extends OperationId> = {
  [Status in keyof Responses<O>]: AnswerFor<Status, Responses<O>[Status]>
}[keyof Responses<O>]
