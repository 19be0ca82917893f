// POST /usersig and POST /privatemapkey: issue tickets for a granted app, within its limits.
import type { RequestHandler } from 'express'
import type { AppConfig, ClientConfig, Scope } from '../config.js'
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
import { authorize, callerOf } from './authenticate.js'

export interface TicketDeps {
  readonly apps: ReadonlyMap<number, AppConfig>
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
  deps: TicketDeps,
  client: ClientConfig,
  scope: Scope,
  body: IssueBody,
  defaultExpire: (app: AppConfig) => number,
): { app: AppConfig; expire: number } {
  authorize(client, scope, body.sdkAppId)
  // authorize() passed, so the app is configured: clients may only be granted configured apps.
  const app = deps.apps.get(body.sdkAppId) as AppConfig
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

export function issueUserSig(deps: TicketDeps): RequestHandler {
  return function issueUserSigHandler(req, res) {
    const body = req.body as IssueBody
    const client = callerOf(res)
    const { app, expire } = admit(deps, client, 'usersig:issue', body, (a) => a.defaultExpire)
    const key = app.signingKey
    const now = deps.clock()
    const userSig = signUserSig({ sdkAppId: app.sdkAppId, userId: body.userId, expire, now }, key)
    deps.metrics.issued.inc({ kind: 'usersig', sdkappid: String(app.sdkAppId), key_id: key.id })
    deps.logger.info(
      {
        audit: 'usersig.issued',
        requestId: res.locals.requestId,
        client: client.id,
        sdkAppId: app.sdkAppId,
        userId: body.userId,
        expire,
        keyId: key.id,
      },
      'UserSig issued',
    )
    res.set('Cache-Control', 'no-store').json({
      userSig,
      sdkAppId: app.sdkAppId,
      userId: body.userId,
      expire,
      issuedAt: now,
      expiresAt: now + expire,
      keyId: key.id,
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
    const client = callerOf(res)
    const { app, expire } = admit(
      deps,
      client,
      'privatemapkey:issue',
      body,
      (a) => a.privateMapKeyDefaultExpire,
    )
    const key = app.signingKey
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
        key,
      )
    } catch (error) {
      // The contract already bounds every field; what is left (a string room's UTF-8 length, an
      // expiry past 2106) is still the caller's input.
      if (error instanceof TypeError)
        throw new ServiceError('invalid_request', error.message, { cause: error })
      throw error
    }
    const privileges = privilegeMap(body.privileges)
    deps.metrics.issued.inc({
      kind: 'privatemapkey',
      sdkappid: String(app.sdkAppId),
      key_id: key.id,
    })
    deps.logger.info(
      {
        audit: 'privatemapkey.issued',
        requestId: res.locals.requestId,
        client: client.id,
        sdkAppId: app.sdkAppId,
        userId: body.userId,
        expire,
        keyId: key.id,
        ...room,
        privileges,
      },
      'PrivateMapKey issued',
    )
    res.set('Cache-Control', 'no-store').json({
      privateMapKey,
      sdkAppId: app.sdkAppId,
      userId: body.userId,
      expire,
      issuedAt: now,
      expiresAt: now + expire,
      keyId: key.id,
      roomId: 'roomId' in room ? room.roomId : null,
      strRoomId: 'strRoomId' in room ? room.strRoomId : null,
      privileges,
      privilegeNames: privilegeNames(privileges),
    })
  }
}
