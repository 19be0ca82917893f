// POST /usersig and POST /privatemapkey: issue tickets for a granted app, within its limits.
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
import { authorizedApp, callerOf, type Caller } from './authenticate.js'

export interface TicketDeps {
  readonly clock: () => number
  readonly logger: Logger
  readonly metrics: Metrics
}

interface IssueBody {
  sdkAppId: number
  userId: string
  expire?: number
}

/** The checks both ticket kinds share; returns the app and the canonical expire. */
function admit(
  res: Response,
  caller: Caller,
  scope: Scope,
  body: IssueBody,
  defaultExpire: (app: AppConfig) => number,
): { app: AppConfig; expire: number } {
  const app = authorizedApp(caller, scope, body.sdkAppId, res.locals.config as Config)
  const userIdProblem = checkUserId(body.userId, app.userIdPolicy)
  if (userIdProblem !== null) {
    throw new ServiceError('user_id_invalid', userIdProblem, {
      errors: [{ field: '/userId', message: userIdProblem }],
    })
  }
  const expire = body.expire ?? defaultExpire(app)
  if (expire < app.minExpire || expire > app.maxExpire) {
    const message = `expire must be from ${app.minExpire} to ${app.maxExpire} seconds for this SDKAppID`
    throw new ServiceError('expire_out_of_range', message, {
      errors: [{ field: '/expire', message }],
    })
  }
  return { app, expire }
}

/**
 * Counts and audits one issued ticket (never the ticket itself) and returns the response fields
 * both ticket kinds share.
 */
function recordIssue(
  deps: TicketDeps,
  res: Response,
  kind: 'usersig' | 'privatemapkey',
  issued: { app: AppConfig; userId: string; expire: number; now: number },
  auditExtra: Record<string, unknown> = {},
) {
  const { app, userId, expire, now } = issued
  const key = app.signingKey
  deps.metrics.issued.inc({ kind, sdkappid: String(app.sdkAppId), key_id: key.id })
  deps.logger.info(
    {
      audit: `${kind}.issued`,
      requestId: res.locals.requestId,
      client: callerOf(res).id,
      sdkAppId: app.sdkAppId,
      userId,
      expire,
      keyId: key.id,
      ...auditExtra,
    },
    kind === 'usersig' ? 'UserSig issued' : 'PrivateMapKey issued',
  )
  res.set('Cache-Control', 'no-store')
  return {
    sdkAppId: app.sdkAppId,
    userId,
    expire,
    issuedAt: now,
    expiresAt: now + expire,
    keyId: key.id,
  }
}

export function issueUserSig(deps: TicketDeps): RequestHandler {
  return function issueUserSigHandler(req, res) {
    const body = req.body as IssueBody
    const { app, expire } = admit(res, callerOf(res), 'usersig:issue', body, (a) => a.defaultExpire)
    const now = deps.clock()
    const userSig = signUserSig(
      { sdkAppId: app.sdkAppId, userId: body.userId, expire, now },
      app.signingKey,
    )
    res.json({
      userSig,
      ...recordIssue(deps, res, 'usersig', { app, userId: body.userId, expire, now }),
    })
  }
}

interface PrivateMapKeyBody extends IssueBody {
  roomId?: number
  strRoomId?: string
  privileges: number | PrivilegeName[]
}

export function issuePrivateMapKey(deps: TicketDeps): RequestHandler {
  return function issuePrivateMapKeyHandler(req, res) {
    const body = req.body as PrivateMapKeyBody
    const { app, expire } = admit(
      res,
      callerOf(res),
      'privatemapkey:issue',
      body,
      (a) => a.privateMapKeyDefaultExpire,
    )
    const now = deps.clock()
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
      if (error instanceof TypeError)
        throw new ServiceError('invalid_request', error.message, { cause: error })
      throw error
    }
    const privileges = privilegeMap(body.privileges)
    res.json({
      privateMapKey,
      ...recordIssue(
        deps,
        res,
        'privatemapkey',
        { app, userId: body.userId, expire, now },
        { ...room, privileges },
      ),
      roomId: 'roomId' in room ? room.roomId : null,
      strRoomId: 'strRoomId' in room ? room.strRoomId : null,
      privileges,
      privilegeNames: privilegeNames(privileges),
    })
  }
}
