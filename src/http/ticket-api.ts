// The ticket routes on plain node:http: POST /usersig, /usersig/batch, /usersig/verify and
// /privatemapkey, with the whole production stack (security headers, request id, caller
// authentication, rate limit, contract validation, audit log, metrics) and no framework.
//
// Why not Express here: these routes are the service's hot path, called on every user login.
// Measured with `npm run bench`, the Express pipeline (router, body-parser, the generic OpenAPI
// middleware, express-rate-limit) held POST /usersig to ~2 100 req/s; here it serves ~6 000, past
// an Express hello world. Express still serves everything else (health, metrics, docs, the debug
// page). The behaviour is the same: the same
// problem+json errors in the same order, and the same openapi.yaml, compiled once.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parse as parseContentType } from 'content-type'
import type { Config } from '../config.js'
import { ServiceError } from '../errors.js'
import type { LiveConfig } from '../live-config.js'
import { createAuthenticator } from './authenticate.js'
import {
  CONTRACT_MISMATCH,
  unknownQueryParameters,
  type Contract,
  type OperationContract,
} from './contract.js'
import type { Lifecycle } from './operations.js'
import { renderProblem, toServiceError } from './problem.js'
import { createRateLimiter } from './rate-limit.js'
import { recordRequest, requestIdOf } from './request-context.js'
import {
  issuePrivateMapKey,
  issueUserSig,
  issueUserSigBatch,
  type TicketDeps,
  type TicketHandler,
} from './tickets.js'
import { verifyTicket } from './verify.js'

/** The largest request body accepted: a verify request with a maximal ticket is ~8.3 KiB. */
export const BODY_LIMIT_BYTES = 16 * 1024
/** POST /usersig/batch: 1000 user ids of up to 32 characters with JSON quoting fit in ~40 KiB. */
export const BATCH_BODY_LIMIT_BYTES = 64 * 1024

export interface TicketApiDeps extends TicketDeps {
  /** The helmet middleware Express uses: its headers are taken once and sent on every answer. */
  readonly securityHeaders: SecurityHeadersMiddleware
  readonly live: LiveConfig
  readonly lifecycle: Lifecycle
  /** openapi.yaml, compiled. */
  readonly contract: Contract
  /** Check every response against openapi.yaml; a mismatch becomes a 500 (tests). */
  readonly validateResponses: boolean
}

interface Route {
  readonly path: string
  readonly bodyLimit: number
  readonly handler: TicketHandler<never>
  readonly contract: OperationContract
  /** Served only while USERSIG_DEBUG_ENDPOINTS is on, like the debug page. */
  readonly debugOnly: boolean
}

/** The ticket routes: `handle` answers a request and returns true if it is one of theirs. */
export interface TicketApi {
  /** "POST /usersig" and the like, for the contract test. */
  readonly routes: readonly string[]
  handle(req: IncomingMessage, res: ServerResponse): boolean
}

export function createTicketApi(deps: TicketApiDeps): TicketApi {
  const { live, logger, metrics, lifecycle } = deps
  const route = (
    path: string,
    handler: TicketHandler<never>,
    options: { bodyLimit?: number; debugOnly?: boolean } = {},
  ): [string, Route] => {
    const contract = deps.contract.operation(path, 'POST')
    if (contract === undefined) throw new Error(`openapi.yaml has no POST ${path}`)
    const { bodyLimit = BODY_LIMIT_BYTES, debugOnly = false } = options
    return [path, { path, bodyLimit, handler, contract, debugOnly }]
  }
  const routes = new Map<string, Route>([
    route('/usersig', issueUserSig(deps)),
    route('/usersig/batch', issueUserSigBatch(deps), {
      bodyLimit: BATCH_BODY_LIMIT_BYTES,
    }),
    route('/usersig/verify', verifyTicket(deps), { debugOnly: true }),
    route('/privatemapkey', issuePrivateMapKey(deps)),
  ])
  const authenticate = createAuthenticator()
  const countRequest = createRateLimiter()
  const security = recordHeaders(deps.securityHeaders)

  /** Writes one whole response, then counts it and logs it at debug. */
  function reply(
    req: IncomingMessage,
    res: ServerResponse,
    context: { requestId: string; route: string; started: number },
    status: number,
    headers: Readonly<Record<string, string>>,
    body: string,
  ): void {
    res.writeHead(status, {
      ...security,
      'X-Request-Id': context.requestId,
      // While draining, ask keep-alive clients to reconnect (to another replica).
      ...(lifecycle.shuttingDown ? { Connection: 'close' } : {}),
      ...headers,
      'Content-Length': String(Buffer.byteLength(body)),
    })
    res.end(body)
    recordRequest(metrics, logger, { ...context, method: req.method ?? 'GET', status })
  }

  async function serve(req: IncomingMessage, res: ServerResponse, path: string, query: string) {
    const started = performance.now()
    // One configuration for the whole request, even if a reload lands meanwhile.
    const config: Config = live.current
    const requestId = requestIdOf(req.headers['x-request-id'])
    const target = routes.get(path)
    const context = { requestId, route: target?.path ?? 'unmatched', started }
    let rateLimitHeaders: Record<string, string> = {}
    try {
      if (target?.debugOnly === true && !config.debugEndpoints) throw new ServiceError('not_found')
      // The token first, under the whole prefix: an unknown path or method tells nothing without it.
      const caller = await authenticate(config, req.headers.authorization)
      rateLimitHeaders = await countRequest(caller, config)
      if (target === undefined) throw new ServiceError('not_found')
      if (req.method !== 'POST') {
        // RFC 9110: a 405 names the methods the resource allows.
        throw new ServiceError('method_not_allowed', undefined, { headers: { Allow: 'POST' } })
      }
      if (query !== '') checkQuery(query)
      const body = await readJson(req, target.bodyLimit)
      const errors = target.contract.checkBody(body)
      if (errors !== null) throw new ServiceError('invalid_request', CONTRACT_MISMATCH, { errors })
      const result = target.handler({ config, caller, requestId, body: body as never })
      const text = JSON.stringify(result)
      const mismatch = deps.validateResponses && target.contract.checkResponse(200, result)
      if (mismatch) throw new Error(`response outside openapi.yaml: ${mismatch}`)
      reply(
        req,
        res,
        context,
        200,
        {
          ...rateLimitHeaders,
          'Cache-Control': 'no-store',
          'Content-Type': 'application/json; charset=utf-8',
        },
        text,
      )
    } catch (error) {
      let problem = renderProblem(logger, toServiceError(error), requestId)
      const mismatch =
        deps.validateResponses && deps.contract.checkProblem(JSON.parse(problem.body))
      if (mismatch) {
        const cause = new Error(`problem outside openapi.yaml: ${mismatch}`)
        problem = renderProblem(
          logger,
          new ServiceError('internal_error', undefined, { cause }),
          requestId,
        )
      }
      reply(
        req,
        res,
        context,
        problem.status,
        { ...rateLimitHeaders, ...problem.headers },
        problem.body,
      )
    }
  }

  return {
    routes: [...routes.keys()].map((path) => `POST ${path}`),
    handle(req, res) {
      const url = req.url ?? '/'
      const mark = url.indexOf('?')
      // Case-insensitive, as Express routes are: /USERSIG is /usersig.
      const path = (mark === -1 ? url : url.slice(0, mark)).toLowerCase()
      if (!isTicketPath(path)) return false
      serve(req, res, path, mark === -1 ? '' : url.slice(mark + 1)).catch((error: unknown) => {
        // Only a fault in writing the answer itself gets here; the process must not go down
        // with an unhandled rejection, and the client must not wait for an answer.
        logger.error({ err: error }, 'ticket route failed while answering')
        res.destroy()
      })
      return true
    },
  }
}

/** The prefixes this module answers for, known routes or not (so unknown ones still need a token). */
function isTicketPath(path: string): boolean {
  return (
    path === '/usersig' ||
    path === '/privatemapkey' ||
    path.startsWith('/usersig/') ||
    path.startsWith('/privatemapkey/')
  )
}

/** The ticket routes take no query parameters; any is named as a contract problem. */
function checkQuery(query: string): void {
  const names = [...new Set(new URLSearchParams(query).keys())]
  if (names.length > 0) throw unknownQueryParameters(names)
}

const UNSUPPORTED_TYPE = () => new ServiceError('unsupported_media_type')

/**
 * Reads a JSON request body of at most `limit` bytes: uncompressed `application/json` in UTF-8,
 * an object or an array at the top (strict, as express.json reads it); an empty body is `{}`.
 */
function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const encoding = req.headers['content-encoding']
  // No compressed bodies: a ticket request is tiny, and inflating is a cost we need not offer.
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    const detail = 'Send the JSON body uncompressed (no Content-Encoding).'
    throw new ServiceError('unsupported_media_type', detail)
  }
  const type = req.headers['content-type']
  if (type === undefined) throw UNSUPPORTED_TYPE()
  let media
  try {
    media = parseContentType(type)
  } catch {
    throw UNSUPPORTED_TYPE()
  }
  if (media.type !== 'application/json') throw UNSUPPORTED_TYPE()
  const charset = media.parameters.charset?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8') {
    throw new ServiceError('unsupported_media_type', 'The body must be UTF-8 JSON.')
  }
  // Refused before reading; the connection closes rather than drain what is left of the body.
  const tooLarge = () =>
    new ServiceError('payload_too_large', undefined, { headers: { Connection: 'close' } })
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) throw tooLarge()

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const done = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer) => {
      length += chunk.length
      if (length > limit) {
        done()
        reject(tooLarge())
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      done()
      try {
        resolve(parseJson(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)))
      } catch (error) {
        reject(error)
      }
    }
    const onError = (error: unknown) => {
      done()
      reject(
        new ServiceError('invalid_request', 'The request body was cut short.', { cause: error }),
      )
    }
    // A client gone mid-body ends the read, with or without an 'error' first.
    const onClose = () => onError(new Error('the connection closed before the body ended'))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

// Strict JSON: the first character that is not JSON whitespace must open an object or an array.
const FIRST = /^[ \t\n\r]*([^ \t\n\r])/

function parseJson(bytes: Buffer): unknown {
  let text = bytes.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1) // a UTF-8 byte order mark
  if (text.length === 0) return {}
  const first = FIRST.exec(text)?.[1]
  if (first !== '{' && first !== '[') throw new ServiceError('malformed_json')
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new ServiceError('malformed_json', undefined, { cause: error })
  }
}

/** A helmet middleware: it sets its headers through `setHeader` and `removeHeader` only. */
type SecurityHeadersMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void

/** The headers a helmet middleware sets, recorded once. */
function recordHeaders(middleware: SecurityHeadersMiddleware): Record<string, string> {
  const headers = new Map<string, string>()
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
  }
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined)
  return Object.fromEntries(headers)
}
