// Shared setup for the HTTP tests: two apps, four callers, secrets and tokens drawn at random for
// each run, a fixed clock, captured log lines, and whole-body problem+json expectations.
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import request from 'supertest'
import { createApp, type App } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config/index.js'
import { ERRORS, type ErrorCode } from '../../src/errors.js'
import type { Lifecycle } from '../../src/http/operations.js'
import { LiveConfig } from '../../src/live-config.js'
import { createLogger } from '../../src/logger.js'
import { createUserSigKey } from '../../src/usersig/index.js'
import { inflateTicket } from './inflate.js'

/** The fixed clock every app built here runs on (unix seconds). */
export const NOW = 1_700_000_000
/** Strict user ids, two keys (rotation), tight limits. */
export const APP_A = 1_400_000_000
/** Printable user ids, one key, default limits. */
export const APP_B = 1_400_000_001
/** An SDKAppID nobody configured. */
export const UNKNOWN_APP = 1_400_000_999

export const LIMITS_A = {
  defaultExpire: 86_400,
  minExpire: 300,
  maxExpire: 604_800,
  privateMapKeyDefaultExpire: 300,
} as const

// Random per run, so nothing secret-looking is committed: 64 hex digits like a console key, and
// 43-character base64url tokens.
const hex64 = (): string => randomBytes(32).toString('hex')
const newToken = (): string => randomBytes(32).toString('base64url')

export const SECRETS = { aNew: hex64(), aOld: hex64(), b: hex64() } as const
export const TOKENS = {
  chat: newToken(),
  issuer: newToken(),
  other: newToken(),
  hashed: newToken(),
} as const

/** The same keys the service loads, for signing and verifying on the test side with the codec. */
export const KEYS = {
  aNew: createUserSigKey('2026-11', SECRETS.aNew),
  aOld: createUserSigKey('2026-05', SECRETS.aOld),
  b: createUserSigKey('b-1', SECRETS.b),
} as const

const ALL_SCOPES = ['usersig:issue', 'usersig:verify', 'privatemapkey:issue']

export const USERSIG_APPS = {
  [APP_A]: {
    keys: [
      { id: '2026-11', secret: SECRETS.aNew },
      { id: '2026-05', secret: SECRETS.aOld },
    ],
    ...LIMITS_A,
    userIdPolicy: 'strict',
  },
  [APP_B]: { keys: [{ id: 'b-1', secret: SECRETS.b }], userIdPolicy: 'printable' },
}

export const USERSIG_CLIENTS = [
  { id: 'chat-backend', token: TOKENS.chat, apps: [APP_A], scopes: ALL_SCOPES },
  { id: 'issuer-only', token: TOKENS.issuer, apps: [APP_A], scopes: ['usersig:issue'] },
  { id: 'other-app', token: TOKENS.other, apps: [APP_B], scopes: ALL_SCOPES },
  {
    id: 'hashed-client',
    tokenSha256: createHash('sha256').update(TOKENS.hashed).digest('hex'),
    apps: [APP_A],
    scopes: ALL_SCOPES,
  },
]

/** Every value that must never leave the service except as designed. */
/** The environment of this configuration, for loadConfig or a real process. */
export const TEST_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'test',
  USERSIG_APPS: JSON.stringify(USERSIG_APPS),
  USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
}
export const ALL_SECRETS: readonly string[] = Object.values(SECRETS)
export const ALL_TOKENS: readonly string[] = Object.values(TOKENS)

export interface BuildOptions {
  /** Extra or overriding environment variables (e.g. USERSIG_DEBUG_ENDPOINTS). */
  readonly env?: Readonly<Record<string, string>>
  readonly clock?: () => number
  readonly lifecycle?: Lifecycle
  readonly logLevel?: string
}

export interface TestApp {
  readonly app: App
  readonly config: Config
  /** Every log line, raw, as pino wrote it. */
  readonly logLines: string[]
  /** The log lines parsed. */
  logs(): Record<string, unknown>[]
  /** Reloads: the same environment loaded again, its policy swapped in like SIGHUP does. */
  reload(): Config
}

/** Loads the real config from env and builds the app on a fixed clock, validating every response. */
export function buildApp(options: BuildOptions = {}): TestApp {
  const load = () => loadConfig({ ...TEST_ENV, ...options.env })
  const config = load()
  const live = new LiveConfig(config)
  const logLines: string[] = []
  const logger = createLogger(options.logLevel ?? 'info', {
    write(line: string) {
      logLines.push(line)
    },
  })
  const app = createApp({
    config,
    live,
    logger,
    clock: options.clock ?? (() => NOW),
    validateResponses: true,
    ...(options.lifecycle === undefined ? {} : { lifecycle: options.lifecycle }),
  })
  return {
    app,
    config,
    logLines,
    logs: () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>),
    reload() {
      live.swap(load().policy)
      return live.current
    },
  }
}

/** A POST with a JSON body and a bearer token. */
export function post(app: App, path: string, token: string | null, body: unknown): request.Test {
  const req = request(app).post(path)
  if (token !== null) req.set('Authorization', `Bearer ${token}`)
  return req.send(body as object)
}

export interface ProblemExtras {
  readonly detail?: string
  readonly errors?: readonly { field: string; message: unknown }[]
}

/**
 * Asserts a whole problem+json response: status, media type, no-store, and the body member by
 * member; the requestId must be the one sent back in X-Request-Id.
 */
export function expectProblem(
  res: request.Response,
  status: number,
  code: ErrorCode,
  extras: ProblemExtras = {},
): void {
  expect({ status: res.status, code: (res.body as { code?: unknown }).code }).toEqual({
    status,
    code,
  })
  expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
  expect(res.headers['cache-control']).toBe('no-store')
  expect(res.body).toEqual({
    type: `urn:usersig-service:problem:${code}`,
    title: ERRORS[code].title,
    status,
    ...(extras.detail === undefined ? {} : { detail: extras.detail }),
    code,
    requestId: res.headers['x-request-id'],
    ...(extras.errors === undefined ? {} : { errors: extras.errors }),
  })
  expect(res.headers['x-request-id']).toEqual(expect.any(String))
}

/**
 * A response as two probes compare it: status, media type, length and body, without the
 * request id (the service draws a fresh one for every request).
 */
export function sansRequestId(res: request.Response): Record<string, unknown> {
  const { requestId, ...body } = res.body as { requestId?: unknown }
  expect(requestId).toBe(res.headers['x-request-id'])
  return {
    status: res.status,
    type: res.headers['content-type'],
    length: Number(res.headers['content-length']) - String(requestId).length,
    body,
  }
}

/** The 400 body a request outside openapi.yaml gets, naming each field. */
export function expectInvalidRequest(res: request.Response, fields: readonly string[]): void {
  expectProblem(res, 400, 'invalid_request', {
    detail: 'The request does not match the API contract; see errors.',
    errors: fields.map((field) => ({ field, message: expect.any(String) })),
  })
}

/** The 400 for query parameters the operation does not declare: how many, and the first few by name. */
export function expectUnknownQuery(
  res: request.Response,
  named: readonly string[],
  count = named.length,
): void {
  const which = count > named.length ? `the first ${named.length}` : count === 1 ? 'it' : 'them'
  expectProblem(res, 400, 'invalid_request', {
    detail: `The request has ${count} query parameter${count === 1 ? '' : 's'} the operation does not declare; errors names ${which}.`,
    errors: named.map((name) => ({
      field: `/query/${name}`,
      message: `Unknown query parameter '${name}'`,
    })),
  })
}

export function expectUnauthorized(res: request.Response): void {
  expectProblem(res, 401, 'unauthorized')
  expect(res.headers['www-authenticate']).toBe('Bearer realm="usersig"')
}

export function expectForbidden(res: request.Response, scope: string): void {
  expectProblem(res, 403, 'forbidden', {
    detail: `This caller may not use ${scope} for this SDKAppID.`,
  })
  expect(res.headers['www-authenticate']).toBeUndefined()
}

/** A ticket's JSON document, read with node:zlib only (independent of the codec). */
export function ticketJson(ticket: string): Record<string, unknown> {
  return JSON.parse(inflateTicket(ticket)) as Record<string, unknown>
}

/** Builds a ticket from a JSON document with node:zlib and Tencent's base64, independently of the codec. */
export function encodeTicketJson(doc: Record<string, unknown>): string {
  return deflateSync(Buffer.from(JSON.stringify(doc), 'utf8'))
    .toString('base64')
    .replace(/\+/g, '*')
    .replace(/\//g, '-')
    .replace(/=/g, '_')
}

/** TLSSigAPIv2's signature (standard base64), computed here with node:crypto from the raw secret. */
export function expectedSignature(doc: Record<string, unknown>, secret: string): string {
  const userBuf = doc['TLS.userbuf']
  const content =
    `TLS.identifier:${String(doc['TLS.identifier'])}\n` +
    `TLS.sdkappid:${String(doc['TLS.sdkappid'])}\n` +
    `TLS.time:${String(doc['TLS.time'])}\n` +
    `TLS.expire:${String(doc['TLS.expire'])}\n` +
    (userBuf === undefined ? '' : `TLS.userbuf:${String(userBuf)}\n`)
  return createHmac('sha256', secret).update(content, 'utf8').digest('base64')
}

/** A signature in every spelling it could leak in: base64, Tencent base64, base64url, hex. */
export function signatureSpellings(base64: string): string[] {
  const bytes = Buffer.from(base64, 'base64')
  return [
    base64,
    base64.replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_'),
    bytes.toString('base64url'),
    bytes.toString('hex'),
  ]
}

/** Everything a response shows: status line values, every header, the raw body. */
export function responseText(res: request.Response): string {
  return `${JSON.stringify(res.headers)}\n${res.text ?? ''}`
}
