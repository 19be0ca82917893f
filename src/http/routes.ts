// The one route table: every operation of openapi.yaml, by operationId, with its handler and what
// the front door must do before calling it. Method, path, whether a caller must authenticate and
// whether it is debug-only (`x-debug-only`) come from openapi.yaml; the front door refuses to start
// when this table and the contract differ.
//
// To add a route: describe the operation in openapi.yaml (with an operationId), run
// `npm run generate:contract`, write its handler (typed by the operation), and add it here.
import type { Config } from '../config/index.js'
import type { Answer, OperationId, RequestBody } from '../contract/index.js'
import type { LiveConfig } from '../live-config.js'
import type { Metrics } from '../metrics.js'
import type { CountStore } from '../rate-limit/index.js'
import type { TraceIds } from '../tracing.js'
import type { Caller } from './authenticate.js'
import { debugPage } from './debug-page.js'
import { liveness, metrics, openapiDocument, readiness, type Lifecycle } from './operations.js'
import { issuePrivateMapKey, issueUserSig, issueUserSigBatch, type TicketDeps } from './tickets.js'
import { verifyTicket } from './verify.js'

/** The largest request body accepted by default: a verify request with a maximal ticket is ~8.3 KiB. */
export const BODY_LIMIT_BYTES = 16 * 1024
/** POST /usersig/batch: 1000 user ids of up to 32 characters with JSON quoting fit in ~40 KiB. */
export const BATCH_BODY_LIMIT_BYTES = 64 * 1024

/** What a handler is given: the request's configuration, id, caller and body, all settled. */
export interface HandlerRequest<O extends OperationId, C extends Caller | null> {
  /** The configuration the request started with, even if a reload lands meanwhile. */
  readonly config: Config
  /** The service's id for this request (X-Request-Id of the answer). */
  readonly requestId: string
  /** The caller's own X-Request-Id, if it sent a sane one: logged beside ours, never used as ours. */
  readonly clientRequestId: string | null
  /** The caller's trace (and our span's id when exported), for audit lines; undefined without one. */
  readonly trace: TraceIds | undefined
  /** The authenticated caller (null on public operations). */
  readonly caller: C
  /** The JSON body, already checked against openapi.yaml. */
  readonly body: RequestBody<O>
}

/** A handler: typed input in, one of the operation's documented answers out, or a ServiceError thrown. */
export type Handler<O extends OperationId, C extends Caller | null> = (
  request: HandlerRequest<O, C>,
) => Answer<O> | Promise<Answer<O>>

interface RouteOptions<O extends OperationId> {
  /** The largest body read (bytes); BODY_LIMIT_BYTES by default. */
  readonly bodyLimit?: number
  /** What the request counts against the caller's rate limit (1 by default): its tickets. */
  readonly cost?: (body: RequestBody<O>) => number
}

/**
 * One operation's route. `auth` must say what openapi.yaml's `security` says: `bearer` (a caller),
 * or none; `metrics` is none unless USERSIG_METRICS_TOKEN is set, then that token.
 */
export type Route<O extends OperationId> = RouteOptions<O> &
  (
    | { readonly auth: 'bearer'; readonly handler: Handler<O, Caller> }
    | { readonly auth: 'none' | 'metrics'; readonly handler: Handler<O, null> }
  )

/** Every operation of openapi.yaml has a route: `tsc` fails on one missing. */
export type RouteTable = { readonly [O in OperationId]: Route<O> }

export interface RouteDeps extends TicketDeps {
  readonly live: LiveConfig
  readonly lifecycle: Lifecycle
  /** Where rate limits count: readiness says which count is in force. */
  readonly counts: CountStore
  readonly metrics: Metrics
  /** What GET /metrics serves; under node:cluster, the whole cluster's metrics. */
  readonly metricsText: () => Promise<string>
}

export function createRoutes(deps: RouteDeps): RouteTable {
  return {
    issueUserSig: { auth: 'bearer', handler: issueUserSig(deps) },
    issueUserSigBatch: {
      auth: 'bearer',
      handler: issueUserSigBatch(deps),
      bodyLimit: BATCH_BODY_LIMIT_BYTES,
      cost: (body) => body.userIds.length,
    },
    verifyUserSig: { auth: 'bearer', handler: verifyTicket(deps) },
    issuePrivateMapKey: { auth: 'bearer', handler: issuePrivateMapKey(deps) },
    debugPage: { auth: 'none', handler: debugPage() },
    liveness: { auth: 'none', handler: liveness },
    readiness: { auth: 'none', handler: readiness(deps) },
    metrics: { auth: 'metrics', handler: metrics(deps) },
    openapi: { auth: 'none', handler: openapiDocument() },
  }
}
