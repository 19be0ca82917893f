// The front door: every request passes here, once, in this order (docs/architecture.md):
//
//   configuration snapshot -> request id -> target (origin- or absolute-form) -> static trees
//   -> route lookup -> authenticate (protected paths, before anything else is revealed, even
//   whether debug is on) -> rate limit -> debug gate, 404 / 405 + Allow -> query -> body (media
//   type, limit, strict JSON) -> validate against openapi.yaml -> handler -> JSON, text or
//   problem+json, with the security headers -> metrics, access log and the request's span.
//
// The caller's W3C `traceparent` is read on arrival (src/tracing.ts): its trace id goes into the
// audit and access lines, and, when spans are exported, the request's span continues its trace.
//
// An answer sent before the request body was read ends the connection with a lingering close
// (lingering-close.ts). No framework on this path: entering Express at all costs ~100 µs of CPU
// per request, more than signing a ticket; Express serves only the static trees behind this door.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config/index.js'
import { ServiceError } from '../errors.js'
import type { LiveConfig } from '../live-config.js'
import type { Logger } from '../logger.js'
import { childrenOf, type Metrics } from '../metrics.js'
import { NO_EXPORT, type RequestTrace, type Tracer } from '../tracing.js'
import type { Authenticator, Caller } from './authenticate.js'
import { checkDeclaredLength, checkJsonMediaType, parseJson, readBody } from './body.js'
import {
  CONTRACT_MISMATCH,
  unknownQueryParameters,
  type Contract,
  type OperationContract,
} from './contract.js'
import {
  declaresBody,
  LINGER_BUDGET,
  lingerAfterAnswer,
  type LingerBudget,
} from './lingering-close.js'
import type { Lifecycle } from './operations.js'
import { renderProblem, toServiceError, type ProblemResponse } from './problem.js'
import type { Allowance, RateLimiter } from './rate-limit.js'
import { BODY_LIMIT_BYTES, type HandlerRequest } from './routes.js'
import { API_HEADERS, pageHeaders } from './security-headers.js'

/** A tree of static files below a path (e.g. `/docs`), served behind the front door. */
export interface Mount {
  /** The tree serves this path and every path below it, unless the route table has the path. */
  readonly prefix: string
  readonly debugOnly: boolean
  /** Serves GET and HEAD; calls `next` for a file it does not have (404) or an error. */
  readonly handle: (
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ) => void
}

/**
 * A route as the front door calls it. The route table (routes.ts) types each handler by its
 * operation; here they are all one shape.
 */
export interface FrontDoorRoute {
  readonly auth: 'bearer' | 'none' | 'metrics'
  readonly bodyLimit?: number
  cost?(body: never): number
  // Method syntax: a handler typed for one operation is one of these.
  handler(request: HandlerRequest<never, never>): unknown
}

/** A handler's answer: JSON, or text of a given content type. */
type Answer =
  | {
      readonly status: number
      readonly json: unknown
      readonly headers?: Readonly<Record<string, string>>
    }
  | { readonly status: number; readonly contentType: string; readonly text: string }

export interface FrontDoorDeps {
  readonly contract: Contract
  /** By operationId: exactly the operations of `contract`. */
  readonly routes: Readonly<Record<string, FrontDoorRoute>>
  /** The operations this listener serves (all by default); the others are absent here (404). */
  readonly serves?: (operationId: string) => boolean
  readonly mounts: readonly Mount[]
  readonly live: LiveConfig
  readonly lifecycle: Lifecycle
  readonly logger: Logger
  readonly metrics: Metrics
  readonly authenticate: Authenticator
  readonly rateLimit: RateLimiter
  /** Reads each request's trace context, and exports its span when tracing is on (NO_EXPORT by default). */
  readonly tracer?: Tracer
  /** Check every answer against openapi.yaml; a mismatch becomes a 500 (tests). */
  readonly validateResponses: boolean
  readonly linger?: LingerBudget
}

/** A route joined with its operation in the contract. */
interface Served extends OperationContract {
  readonly route: FrontDoorRoute
  readonly bodyLimit: number
}

/** What the front door knows about one request as it goes. */
interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly config: Config
  /** Always the service's own: it names the request in the answer, the audit and the access log. */
  readonly requestId: string
  /** The caller's `X-Request-Id` when it is a sane token, logged beside ours; never trusted. */
  readonly clientRequestId: string | null
  readonly started: number
  /** The caller's trace (and our span), or undefined without tracing and a valid `traceparent`. */
  readonly trace: RequestTrace | undefined
  /** The route template for metrics and logs: the operation's path, a tree's, or "unmatched". */
  route: string
  served: Served | undefined
  rateLimitHeaders: Readonly<Record<string, string>>
  /** The request body once it passed validation against openapi.yaml. */
  body: unknown
}

/** The request listener, plus the `checkContinue` listener and the routes it serves. */
export interface FrontDoor {
  (req: IncomingMessage, res: ServerResponse): void
  /**
   * For the server's 'checkContinue' event: `100 Continue` is sent only when the body is about to
   * be read, so a client told 401 or 413 never sends it.
   */
  readonly checkContinue: (req: IncomingMessage, res: ServerResponse) => void
  /** "METHOD /path" of every operation, and "GET /tree/*" of every static tree. */
  readonly routes: readonly string[]
}

const AWAITING_CONTINUE = Symbol('usersig.awaitingContinue')
type ContinuableRequest = IncomingMessage & { [AWAITING_CONTINUE]?: true }

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/
/** The route of metrics and logs when none matched. */
const UNMATCHED = 'unmatched'

/** The route template of a span: none when no route matched. */
function routeOf(x: Exchange): string | undefined {
  return x.route === UNMATCHED ? undefined : x.route
}

export function createFrontDoor(deps: FrontDoorDeps): FrontDoor {
  const { contract, live, lifecycle, logger, metrics, validateResponses } = deps
  const linger = deps.linger ?? LINGER_BUDGET
  const tracer = deps.tracer ?? NO_EXPORT
  const resources = compileRoutes(contract, deps.routes, deps.serves ?? (() => true))
  // First segments ("/usersig") under which every path needs a token, known route or not, debug
  // on or off: without one, nothing there tells anything (docs/architecture.md, "Paths").
  const guardedPrefixes = new Set(
    contract.operations
      .filter((op) => op.authenticated)
      .map((op) => firstSegment(op.path.toLowerCase())),
  )
  const mounts = deps.mounts.map((mount) => ({ ...mount, lower: mount.prefix.toLowerCase() }))

  async function serve(x: Exchange): Promise<void> {
    const { req, res, config } = x
    const target = requestTarget(req.url ?? '')
    if (target === null) {
      throw new ServiceError(
        'invalid_request',
        'The request target must be a path or an absolute URL.',
      )
    }
    const path = target.path.toLowerCase()
    const resource = resources.get(path)
    const mount = resource === undefined ? mounts.find((m) => isUnder(path, m.lower)) : undefined
    if (mount !== undefined) return serveTree(x, mount, target)

    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')
    // A debug-only resource that is off is absent (404), once the caller has shown a token where
    // the path needs one.
    const present = resource !== undefined && (config.process.debugEndpoints || !resource.debugOnly)
    const served = present ? resource.methods.get(method) : undefined
    // Under a protected segment, everything but a public operation needs a token first: without
    // one, an unknown path, a wrong method and a debug route (on or off) all answer the same 401.
    const guarded =
      guardedPrefixes.has(firstSegment(path)) && (served === undefined || served.authenticated)
    if (served !== undefined) {
      x.served = served
      x.route = served.path
    }
    let caller: Caller | null = null
    let allowance: Allowance | undefined
    if (served?.route.auth === 'metrics')
      deps.authenticate.metrics(config, req.headers.authorization)
    if (guarded) {
      caller = await deps.authenticate(config, req.headers.authorization)
      // Every authenticated request costs at least one (a flood of refused requests is limited too).
      allowance = await deps.rateLimit.take(caller, config, 1)
      x.rateLimitHeaders = allowance.headers
    }
    if (!present) throw new ServiceError('not_found')
    if (served === undefined) {
      // RFC 9110: a 405 names the methods the resource allows (HEAD goes with GET).
      throw new ServiceError('method_not_allowed', undefined, {
        headers: { Allow: resource.allow },
      })
    }
    if (target.query !== '') checkQuery(target.query, served)
    let body: unknown
    if (served.hasBody) {
      checkJsonMediaType(req)
      checkDeclaredLength(req, served.bodyLimit)
      if ((req as ContinuableRequest)[AWAITING_CONTINUE]) res.writeContinue()
      body = parseJson(await readBody(req, served.bodyLimit))
      const errors = served.checkBody(body)
      if (errors !== null) throw new ServiceError('invalid_request', CONTRACT_MISMATCH, { errors })
      x.body = body
    }
    const cost = served.route.cost?.(body as never) ?? 1
    if (cost > 1 && caller !== null) {
      // A batch counts its tickets, and is refused whole (the one taken above given back) if they
      // do not all fit.
      x.rateLimitHeaders = (await deps.rateLimit.take(caller, config, cost - 1, allowance)).headers
    }
    const answer = (await served.route.handler({
      config,
      requestId: x.requestId,
      clientRequestId: x.clientRequestId,
      trace: x.trace?.ids,
      caller: caller as never,
      body: body as never,
    })) as Answer
    if ('json' in answer) {
      const text = JSON.stringify(answer.json)
      if (validateResponses)
        mustMatch(served.checkResponse(answer.status, 'application/json', answer.json))
      const headers = { ...x.rateLimitHeaders, ...answer.headers }
      send(x, answer.status, 'application/json; charset=utf-8', text, headers)
    } else {
      if (validateResponses)
        mustMatch(served.checkResponse(answer.status, mediaType(answer.contentType), null))
      if (answer.contentType.startsWith('text/html')) pageHeaders(req, res, ignore)
      send(x, answer.status, answer.contentType, answer.text, x.rateLimitHeaders)
    }
    record(x, answer.status)
  }

  /** A static tree: GET and HEAD only, the debug gate, then Express; counted when it ends. */
  function serveTree(x: Exchange, mount: (typeof mounts)[number], target: Target): void {
    const { req, res } = x
    if (mount.debugOnly && !x.config.process.debugEndpoints) throw new ServiceError('not_found')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new ServiceError('method_not_allowed', undefined, { headers: { Allow: 'GET, HEAD' } })
    }
    x.route = `${mount.prefix}/*`
    // The tree sees an origin-form target, whatever form the client sent.
    req.url = target.query === '' ? target.path : `${target.path}?${target.query}`
    pageHeaders(req, res, ignore)
    res.setHeader('X-Request-Id', x.requestId)
    const close = endsConnection(req)
    if (close) lingerAfterAnswer(req, linger)
    if (close || lifecycle.shuttingDown) res.setHeader('Connection', 'close')
    res.once('close', () => record(x, res.statusCode))
    mount.handle(req, res, (error) => {
      if (res.headersSent) return void res.destroy()
      const problem = toServiceError(error ?? new ServiceError('not_found'))
      const { status, headers, body } = renderProblem(logger, problem, x.requestId, x.trace?.ids)
      send(x, status, headers['Content-Type'] as string, body, headers)
    })
  }

  /** Writes a whole answer: the API's security headers unless a page set its own, then the body. */
  function send(
    x: Exchange,
    status: number,
    contentType: string,
    body: string,
    headers: Readonly<Record<string, string>>,
  ): void {
    const { req, res } = x
    const close = endsConnection(req)
    // Answered before the body was read: the connection ends, lingering (see lingering-close.ts).
    if (close) lingerAfterAnswer(req, linger)
    res.writeHead(status, {
      ...(res.hasHeader('Content-Security-Policy') ? {} : API_HEADERS),
      'X-Request-Id': x.requestId,
      // While draining, ask keep-alive clients to reconnect (to another replica).
      ...(close || lifecycle.shuttingDown ? { Connection: 'close' } : {}),
      ...headers,
      'Content-Type': contentType,
      'Content-Length': String(Buffer.byteLength(body)),
    })
    res.end(body)
  }

  function answerProblem(x: Exchange, error: unknown): void {
    let problem = renderProblem(logger, toServiceError(error), x.requestId, x.trace?.ids)
    const mismatch = validateResponses && problemMismatch(x, problem)
    if (mismatch) {
      const cause = new Error(`problem outside openapi.yaml: ${mismatch}`)
      problem = renderProblem(
        logger,
        new ServiceError('internal_error', undefined, { cause }),
        x.requestId,
        x.trace?.ids,
      )
    }
    const headers = { ...x.rateLimitHeaders, ...problem.headers }
    send(x, problem.status, problem.headers['Content-Type'] as string, problem.body, headers)
    record(x, problem.status)
  }

  /** A problem outside openapi.yaml: not a Problem, or a 4xx the operation does not document. */
  function problemMismatch(x: Exchange, problem: ProblemResponse): string | null {
    const body: unknown = JSON.parse(problem.body)
    return (
      contract.checkProblem(body) ??
      (x.served !== undefined && problem.status < 500
        ? x.served.checkResponse(problem.status, 'application/problem+json', body)
        : null)
    )
  }

  const requestsOf = childrenOf((method, route, status) =>
    metrics.requests.labels(method, route, status),
  )
  const durationOf = childrenOf((method, route) => metrics.duration.labels(method, route))

  /**
   * Counts an answered request, logs it at debug and ends its span, by route template, never by
   * URL.
   */
  function record(x: Exchange, status: number): void {
    const { method = 'GET' } = x.req
    const seconds = (performance.now() - x.started) / 1000
    requestsOf(method, x.route, String(status)).inc()
    durationOf(method, x.route).observe(seconds)
    if (logger.isLevelEnabled('debug')) accessLog(x, method, status, seconds)
    x.trace?.end({ route: routeOf(x), status, body: x.body })
  }

  function accessLog(x: Exchange, method: string, status: number, seconds: number): void {
    logger.debug(
      {
        requestId: x.requestId,
        ...(x.clientRequestId === null ? {} : { clientRequestId: x.clientRequestId }),
        ...x.trace?.ids,
        method,
        route: x.route,
        status,
        ms: Math.round(seconds * 1e4) / 10,
      },
      'request',
    )
  }

  const frontDoor = function usersigService(req: IncomingMessage, res: ServerResponse): void {
    const x: Exchange = {
      req,
      res,
      // One configuration for the whole request, even if a reload lands meanwhile.
      config: live.current,
      requestId: randomUUID(),
      clientRequestId: clientRequestIdOf(req.headers['x-request-id']),
      started: performance.now(),
      trace: tracer.begin(req),
      route: UNMATCHED,
      served: undefined,
      rateLimitHeaders: {},
      body: undefined,
    }
    serve(x)
      .catch((error: unknown) => {
        if (res.headersSent) throw error
        answerProblem(x, error)
      })
      .catch((error: unknown) => {
        // Only a fault in writing the answer itself gets here: the process must not go down with
        // an unhandled rejection, and the client must not wait for an answer.
        logger.error(
          { requestId: x.requestId, ...x.trace?.ids, err: error },
          'failed while answering',
        )
        res.destroy()
        x.trace?.end({ route: routeOf(x), status: undefined, body: x.body })
      })
  }
  const checkContinue = (req: IncomingMessage, res: ServerResponse) => {
    ;(req as ContinuableRequest)[AWAITING_CONTINUE] = true
    frontDoor(req, res)
  }
  const routes = [
    ...contract.operations
      .filter((op) => deps.serves?.(op.operationId) ?? true)
      .map((op) => `${op.method} ${op.path}`),
    ...deps.mounts.map((mount) => `GET ${mount.prefix}/*`),
  ].sort()
  return Object.assign(frontDoor, { checkContinue, routes })
}

/** A path of the route table: its operations by method, and what every one of them shares. */
interface Resource {
  readonly methods: ReadonlyMap<string, Served>
  /** "GET, HEAD" and the like, for a 405. */
  readonly allow: string
  readonly debugOnly: boolean
}

/**
 * Joins each operation of the contract to its route, by operationId. A route without an
 * operation, an operation without a route, or a route whose `auth` disagrees with the operation's
 * `security` stops the service at start: the contract and the code cannot drift.
 */
function compileRoutes(
  contract: Contract,
  routes: Readonly<Record<string, FrontDoorRoute>>,
  serves: (operationId: string) => boolean,
): ReadonlyMap<string, Resource> {
  const problems: string[] = []
  const byPath = new Map<string, Map<string, Served>>()
  for (const op of contract.operations) {
    const route = routes[op.operationId]
    if (route === undefined) {
      problems.push(
        `openapi.yaml has ${op.operationId} (${op.method} ${op.path}), the route table has not`,
      )
      continue
    }
    if ((route.auth === 'bearer') !== op.authenticated) {
      problems.push(
        `${op.operationId}: auth '${route.auth}' disagrees with openapi.yaml's security`,
      )
    }
    const served: Served = {
      ...op,
      route,
      bodyLimit: route.bodyLimit ?? BODY_LIMIT_BYTES,
    }
    const path = op.path.toLowerCase()
    if (serves(op.operationId))
      byPath.set(path, (byPath.get(path) ?? new Map()).set(op.method, served))
  }
  const known = new Set(contract.operations.map((op) => op.operationId))
  for (const id of Object.keys(routes)) {
    if (!known.has(id)) problems.push(`the route table has ${id}, openapi.yaml has not`)
  }
  if (problems.length > 0)
    throw new Error(`Routes and openapi.yaml differ:\n  ${problems.join('\n  ')}`)
  return new Map(
    [...byPath].map(([path, methods]) => {
      const all = [...methods.values()]
      const names = [...methods.keys()]
      return [
        path,
        {
          methods,
          allow: (names.includes('GET') ? [...names, 'HEAD'] : names).join(', '),
          debugOnly: all.every((s) => s.debugOnly),
        },
      ]
    }),
  )
}

interface Target {
  readonly path: string
  /** Without the `?`; empty when there is none. */
  readonly query: string
}

/**
 * The path and query of a request target, in origin form (`/usersig?x`) or absolute form
 * (`http://host/usersig`, which HTTP/1.1 servers must accept); a fragment, which clients should
 * not send, is dropped. Null for anything else (`*`, authority form). Paths are not decoded or
 * normalised: `/usersig%2Fverify` is not `/usersig/verify`.
 */
export function requestTarget(url: string): Target | null {
  let start = 0
  if (url.charCodeAt(0) !== 0x2f /* / */) {
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url)
    if (scheme === null) return null
    start = scheme[0].length
  }
  let end = url.indexOf('#', start)
  if (end === -1) end = url.length
  const mark = url.indexOf('?', start)
  const pathEnd = mark === -1 || mark > end ? end : mark
  const path = url.slice(start, pathEnd) || '/'
  return { path, query: pathEnd === end ? '' : url.slice(pathEnd + 1, end) }
}

function firstSegment(path: string): string {
  const slash = path.indexOf('/', 1)
  return slash === -1 ? path : path.slice(0, slash)
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f)
}

/** Query parameters the operation does not declare are contract problems. */
function checkQuery(query: string, op: OperationContract): void {
  const unknown = [...new Set(new URLSearchParams(query).keys())].filter(
    (name) => !op.queryParameters.has(name),
  )
  if (unknown.length > 0) throw unknownQueryParameters(unknown)
}

/** Whether this answer comes before the request's body was read to its end. */
function endsConnection(req: IncomingMessage): boolean {
  return declaresBody(req) && !req.complete
}

/** The caller's `X-Request-Id` when it is a sane token, else null. */
function clientRequestIdOf(incoming: string | string[] | undefined): string | null {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : null
}

function mediaType(contentType: string): string {
  const semicolon = contentType.indexOf(';')
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim()
}

function mustMatch(mismatch: string | null): void {
  if (mismatch !== null) throw new Error(`response outside openapi.yaml: ${mismatch}`)
}

function ignore(): void {}
