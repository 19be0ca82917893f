// POST /usersig, /usersig/batch and /privatemapkey: issue tickets for a granted app, within its limits.
import type { RequestHandler, Response } from 'express'
import type { AppConfig, Config, Scope } from '../config.js'
import { ServiceError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import {
  checkUserId,
  privilegeMap,
  privilegeNames,
  signPrivateMapKey,
  signUserSig,
  type PrivilegeName,
} from '../usersig/index.js'
import { authorizedApp, callerOf } from './authenticate.js'

export interface TicketDeps {
  readonly clock: () => number
  readonly logger: Logger
  readonly metrics: Metrics
}

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
  res: Response,
  scope: Scope,
  request: { sdkAppId: number; expire?: number | undefined },
  defaultExpire: (app: AppConfig) => number,
): Issuance {
  const app = authorizedApp(callerOf(res), scope, request.sdkAppId, res.locals.config as Config)
  const expire = request.expire ?? defaultExpire(app)
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
 * Counts and audits issued tickets (never the tickets themselves), marks the response
 * uncacheable, and returns the response fields every issuance shares.
 */
function recordIssue(
  deps: TicketDeps,
  res: Response,
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
      requestId: res.locals.requestId,
      client: callerOf(res).id,
      sdkAppId: app.sdkAppId,
      ...audit,
      expire,
      keyId: key.id,
    },
    kind === 'usersig' ? 'UserSig issued' : 'PrivateMapKey issued',
  )
  res.set('Cache-Control', 'no-store')
  return {
    sdkAppId: app.sdkAppId,
    expire,
    issuedAt: now,
    expiresAt: now + expire,
    keyId: key.id,
  }
}

export function issueUserSig(deps: TicketDeps): RequestHandler {
  return function issueUserSigHandler(req, res) {
    const body = req.body as { sdkAppId: number; userId: string; expire?: number }
    const issuance = admit(deps, res, 'usersig:issue', body, (app) => app.defaultExpire)
    const { app, expire, now } = issuance
    checkUserIdOf(app, body.userId)
    const userSig = signUserSig(
      { sdkAppId: app.sdkAppId, userId: body.userId, expire, now },
      app.signingKey,
    )
    const shared = recordIssue(deps, res, 'usersig', issuance, { userId: body.userId })
    res.json({ userSig, ...shared, userId: body.userId })
  }
}

/**
 * POST /usersig/batch: tickets for many users of one app in one call (at most 1000: openapi.yaml
 * bounds the list, and the request validator enforces it). The caller, the app and
 * the expire are checked once; each user id against the app's policy, with a per-item error.
 */
export function issueUserSigBatch(deps: TicketDeps): RequestHandler {
  return function issueUserSigBatchHandler(req, res) {
    const body = req.body as { sdkAppId: number; expire?: number; userIds: string[] }
    const issuance = admit(deps, res, 'usersig:issue', body, (app) => app.defaultExpire)
    const { app, expire, now } = issuance
    const issuedTo: string[] = []
    const results = body.userIds.map((userId) => {
      const problem = checkUserId(userId, app.userIdPolicy)
      if (problem !== null) {
        return { userId, error: { code: 'user_id_invalid', message: problem } }
      }
      issuedTo.push(userId)
      const userSig = signUserSig({ sdkAppId: app.sdkAppId, userId, expire, now }, app.signingKey)
      return { userId, userSig }
    })
    // One audit line for the batch, naming every user a ticket went to.
    const shared = recordIssue(
      deps,
      res,
      'usersig',
      issuance,
      { userIds: issuedTo },
      issuedTo.length,
    )
    res.json({
      ...shared,
      issued: issuedTo.length,
      failed: results.length - issuedTo.length,
      results,
    })
  }
}

interface PrivateMapKeyBody {
  sdkAppId: number
  userId: string
  expire?: number
  roomId?: number
  strRoomId?: string
  privileges: number | PrivilegeName[]
}

export function issuePrivateMapKey(deps: TicketDeps): RequestHandler {
  return function issuePrivateMapKeyHandler(req, res) {
    const body = req.body as PrivateMapKeyBody
    const issuance = admit(
      deps,
      res,
      'privatemapkey:issue',
      body,
      (app) => app.privateMapKeyDefaultExpire,
    )
    const { app, expire, now } = issuance
    checkUserIdOf(app, body.userId)
    const room =
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
    const shared = recordIssue(deps, res, 'privatemapkey', issuance, {
      userId: body.userId,
      ...room,
      privileges,
    })
    res.json({
      privateMapKey,
      ...shared,
      userId: body.userId,
      roomId: 'roomId' in room ? room.roomId : null,
      strRoomId: 'strRoomId' in room ? room.strRoomId : null,
      privileges,
      privilegeNames: privilegeNames(privileges),
    })
  }
}
