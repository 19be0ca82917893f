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

/**
 * Authorises the caller for the app and settles the expire (never clamped): the checks every
 * ticket kind shares.
 */
function admit(
  deps: TicketDeps,
  request: TicketRequest<{ sdkAppId: number; expire?: number | undefined }>,
  scope: Scope,
  defaultExpire: (app: AppConfig) => number,
): Issuance {
  const { body } = request
  const app = authorizedApp(request.caller, scope, body.sdkAppId, request.config)
  const expire = body.expire ?? defaultExpire(app)
  if (expire < app.minExpire || expire > app.maxExpire) {
    const message = `expire must be from ${app.minExpire} to ${app.maxExpire} seconds for this SDKAppID`
    throw new ServiceError('expire_out_of_range', message, {
      errors: [{ field: '/expire', message }],
    })
  }
  return { app, expire, now: deps.clock() }
}

/** Throws 400 unless the app's policy allows the user id. */
function checkUserIdOf(app: AppConfig, userId: string): void {
  const problem = checkUserId(userId, app.userIdPolicy)
  if (problem !== null) {
    throw new ServiceError('user_id_invalid', problem, {
      errors: [{ field: '/userId', message: problem }],
    })
  }
}

/**
 * Who asked, as every audit line says it: the service's own request id (the caller's, if any,
 * beside it), the caller, how it authenticated and, for a JWT, its issuer. A JWT whose subject is
 * a static client's id can never pass for that client here.
 */
export function auditedCaller(
  request: Pick<HandlerRequest<never, Caller>, 'requestId' | 'clientRequestId' | 'caller'>,
): Record<string, unknown> {
  const { caller } = request
  return {
    requestId: request.requestId,
    ...(request.clientRequestId === null ? {} : { clientRequestId: request.clientRequestId }),
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
  deps.metrics.issued.inc({ kind, sdkappid: String(app.sdkAppId), key_id: key.id }, count)
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
    const issuance = admit(deps, request, 'usersig:issue', (app) => app.defaultExpire)
    const { app, expire, now } = issuance
    checkUserIdOf(app, body.userId)
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
    const issuance = admit(deps, request, 'usersig:issue', (app) => app.defaultExpire)
    const { app, expire, now } = issuance
    const sign = userSigSigner({ sdkAppId: app.sdkAppId, expire, now }, app.signingKey)
    const issuedTo: string[] = []
    const results = body.userIds.map((userId) => {
      const problem = checkUserId(userId, app.userIdPolicy)
      if (problem !== null) {
        return { userId, error: { code: 'user_id_invalid' as const, message: problem } }
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
    const issuance = admit(
      deps,
      request,
      'privatemapkey:issue',
      (app) => app.privateMapKeyDefaultExpire,
    )
    const { app, expire, now } = issuance
    checkUserIdOf(app, body.userId)
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
    const privileges = privilegeMap(body.privileges)
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
