// POST /usersig, /usersig/batch and /privatemapkey: issue tickets for a granted app, within its limits.
import type { AppConfig, Scope } from '../config/index.js'
import { ServiceError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import {
  checkUserId,
  privilegeMap,
  privilegeNames,
  signPrivateMapKey,
  signUserSig,
  userSigSigner,
} from '../usersig/index.js'
import { authorizedApp, type Caller } from './authenticate.js'
import type { Handler, HandlerRequest } from './routes.js'

export interface TicketDeps {
  readonly clock: () => number
  readonly logger: Logger
  readonly metrics: Metrics
}

/** The parts of an authenticated request that every issuance reads. */
type TicketRequest<Body> = Omit<HandlerRequest<never, Caller>, 'body'> & { readonly body: Body }

/** What every issuance decides once: the app, the expire and the issue time. */
interface Issuance {
  readonly app: AppConfig
  readonly expire: number
  readonly now: number
}

/** The expire limits of one ticket kind: its default and its longest. */
interface ExpireLimits {
  readonly defaultExpire: (app: AppConfig) => number
  readonly maxExpire: (app: AppConfig) => number
}

const USERSIG_LIMITS: ExpireLimits = {
  defaultExpire: (app) => app.defaultExpire,
  maxExpire: (app) => app.maxExpire,
}
const PRIVATE_MAP_KEY_LIMITS: ExpireLimits = {
  defaultExpire: (app) => app.privateMapKeyDefaultExpire,
  maxExpire: (app) => app.privateMapKeyMaxExpire,
}

/**
 * Authorises the caller for the app and settles the expire (never clamped): the checks every
 * ticket kind shares.
 */
function admit(
  deps: TicketDeps,
  request: TicketRequest<{ sdkAppId: number; expire?: number | undefined }>,
  scope: Scope,
  limits: ExpireLimits,
): Issuance {
  const { body } = request
  const app = authorizedApp(request.caller, scope, body.sdkAppId, request.config)
  const expire = body.expire ?? limits.defaultExpire(app)
  const max = limits.maxExpire(app)
  if (expire < app.minExpire || expire > max) {
    const message = `expire must be from ${app.minExpire} to ${max} seconds for this SDKAppID`
    throw new ServiceError('expire_out_of_range', message, {
      errors: [{ field: '/expire', message }],
    })
  }
  return { app, expire, now: deps.clock() }
}

/**
 * Why this caller may not have a ticket for `userId` of this app, or null: outside the app's
 * policy (400), one of its reserved accounts without `usersig:issue-admin` (403), or outside the
 * caller's own user-id pattern (403). In that order, so a malformed id is never reported as
 * merely not granted.
 */
function userIdRefusal(app: AppConfig, caller: Caller, userId: string): ServiceError | null {
  const invalid = checkUserId(userId, app.userIdPolicy)
  if (invalid !== null) {
    return new ServiceError('user_id_invalid', invalid, {
      errors: [{ field: '/userId', message: invalid }],
    })
  }
  if (app.reservedUserIds.has(userId) && !caller.scopes.has('usersig:issue-admin')) {
    return new ServiceError(
      'user_id_reserved',
      'This userId is reserved for admin use in this SDKAppID: it needs the scope usersig:issue-admin.',
    )
  }
  if (caller.userIdPattern !== null && !caller.userIdPattern.matches(userId)) {
    return new ServiceError(
      'user_id_not_allowed',
      "This userId is outside this caller's userIdPattern.",
    )
  }
  return null
}

/** Throws unless this caller may have a ticket for `userId` of this app. */
function checkUserIdFor(app: AppConfig, caller: Caller, userId: string): void {
  const refusal = userIdRefusal(app, caller, userId)
  if (refusal !== null) throw refusal
}

/**
 * Who asked, as every audit line says it: the service's own request id (the caller's, if any,
 * beside it), the trace ids (src/tracing.ts), the caller, how it authenticated and, for a JWT, its issuer. A JWT whose subject is
 * a static client's id can never pass for that client here.
 */
export function auditedCaller(
  request: Pick<
    HandlerRequest<never, Caller>,
    'requestId' | 'clientRequestId' | 'trace' | 'caller'
  >,
): Record<string, unknown> {
  const { caller } = request
  return {
    requestId: request.requestId,
    ...(request.clientRequestId === null ? {} : { clientRequestId: request.clientRequestId }),
    ...request.trace,
    client: caller.id,
    via: caller.via,
    ...(caller.issuer === null ? {} : { issuer: caller.issuer }),
  }
}

/**
 * Counts and audits issued tickets (never the tickets themselves) and returns the response
 * fields every issuance shares.
 */
function recordIssue(
  deps: TicketDeps,
  request: TicketRequest<unknown>,
  kind: 'usersig' | 'privatemapkey',
  { app, expire, now }: Issuance,
  audit: Record<string, unknown>,
  count = 1,
) {
  const key = app.signingKey
  deps.metrics.issuedFor(kind, String(app.sdkAppId), key.id).inc(count)
  deps.logger.info(
    {
      audit: `${kind}.issued`,
      ...auditedCaller(request),
      sdkAppId: app.sdkAppId,
      ...audit,
      expire,
      keyId: key.id,
    },
    kind === 'usersig' ? 'UserSig issued' : 'PrivateMapKey issued',
  )
  return {
    sdkAppId: app.sdkAppId,
    expire,
    issuedAt: now,
    expiresAt: now + expire,
    keyId: key.id,
  }
}

export function issueUserSig(deps: TicketDeps): Handler<'issueUserSig', Caller> {
  return function issueUserSigHandler(request) {
    const { body } = request
    const issuance = admit(deps, request, 'usersig:issue', USERSIG_LIMITS)
    const { app, expire, now } = issuance
    checkUserIdFor(app, request.caller, body.userId)
    const userSig = signUserSig(
      { sdkAppId: app.sdkAppId, userId: body.userId, expire, now },
      app.signingKey,
    )
    const shared = recordIssue(deps, request, 'usersig', issuance, { userId: body.userId })
    return { status: 200, json: { userSig, ...shared, userId: body.userId } }
  }
}

/**
 * POST /usersig/batch: tickets for many users of one app in one call (at most 1000: openapi.yaml
 * bounds the list, and the compiled contract enforces it). The caller, the app and
 * the expire are checked once; each user id against the app's policy, with a per-item error.
 */
export function issueUserSigBatch(deps: TicketDeps): Handler<'issueUserSigBatch', Caller> {
  return function issueUserSigBatchHandler(request) {
    const { body } = request
    const issuance = admit(deps, request, 'usersig:issue', USERSIG_LIMITS)
    const { app, expire, now } = issuance
    const sign = userSigSigner({ sdkAppId: app.sdkAppId, expire, now }, app.signingKey)
    const issuedTo: string[] = []
    const results = body.userIds.map((userId) => {
      const refusal = userIdRefusal(app, request.caller, userId)
      if (refusal !== null) {
        const code = refusal.code as 'user_id_invalid' | 'user_id_reserved' | 'user_id_not_allowed'
        return { userId, error: { code, message: refusal.message } }
      }
      issuedTo.push(userId)
      return { userId, userSig: sign(userId) }
    })
    // One audit line for the batch, naming every user a ticket went to.
    const shared = recordIssue(
      deps,
      request,
      'usersig',
      issuance,
      { userIds: issuedTo },
      issuedTo.length,
    )
    return {
      status: 200,
      json: {
        ...shared,
        issued: issuedTo.length,
        failed: results.length - issuedTo.length,
        results,
      },
    }
  }
}

export function issuePrivateMapKey(deps: TicketDeps): Handler<'issuePrivateMapKey', Caller> {
  return function issuePrivateMapKeyHandler(request) {
    const { body } = request
    const issuance = admit(deps, request, 'privatemapkey:issue', PRIVATE_MAP_KEY_LIMITS)
    const { app, expire, now } = issuance
    checkUserIdFor(app, request.caller, body.userId)
    const privileges = privilegeMap(body.privileges)
    const beyond = privileges & ~request.caller.maxPrivileges
    if (beyond !== 0) {
      throw new ServiceError(
        'privileges_not_allowed',
        `This caller may grant at most ${privilegeNames(request.caller.maxPrivileges).join(', ') || 'no privileges'}; not ${privilegeNames(beyond).join(', ')}.`,
      )
    }
    // openapi.yaml requires exactly one of the two.
    const room: { roomId: number } | { strRoomId: string } =
      body.roomId !== undefined ? { roomId: body.roomId } : { strRoomId: body.strRoomId as string }
    let privateMapKey: string
    try {
      privateMapKey = signPrivateMapKey(
        {
          sdkAppId: app.sdkAppId,
          userId: body.userId,
          expire,
          now,
          ...room,
          privileges: body.privileges,
        },
        app.signingKey,
      )
    } catch (error) {
      // The contract already bounds every field; what is left (a string room's UTF-8 length, an
      // expiry past 2106) is still the caller's input.
      if (error instanceof TypeError) {
        throw new ServiceError('invalid_request', error.message, { cause: error })
      }
      throw error
    }
    const shared = recordIssue(deps, request, 'privatemapkey', issuance, {
      userId: body.userId,
      ...room,
      privileges,
    })
    return {
      status: 200,
      json: {
        privateMapKey,
        ...shared,
        userId: body.userId,
        roomId: 'roomId' in room ? room.roomId : null,
        strRoomId: 'strRoomId' in room ? room.strRoomId : null,
        privileges,
        privilegeNames: privilegeNames(privileges),
      },
    }
  }
}
