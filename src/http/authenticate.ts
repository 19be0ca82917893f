// Caller authentication (static bearer tokens) and authorisation (scopes and SDKAppID grants).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { RequestHandler, Response } from 'express'
import type { ClientConfig, Scope } from '../config.js'
import { ServiceError } from '../errors.js'

// The scheme is case-insensitive (RFC 9110 section 11.1); the token is not.
const BEARER = /^Bearer +([\x21-\x7e]{1,512})$/i

/**
 * Authenticates `Authorization: Bearer <token>` against the configured clients. The presented
 * token is hashed and compared with every client's SHA-256 in constant time, without stopping at
 * a match, so neither the token nor which client matched shows in the timing.
 */
export function createAuthenticate(clients: readonly ClientConfig[]): RequestHandler {
  if (clients.length === 0) throw new TypeError('authenticate: no clients configured')
  return function authenticate(req, res, next) {
    const match = BEARER.exec(req.get('authorization') ?? '')
    if (match === null) return next(new ServiceError('unauthorized'))
    const presented = createHash('sha256')
      .update(match[1] as string, 'utf8')
      .digest()
    let found: ClientConfig | undefined
    for (const client of clients) {
      if (timingSafeEqual(presented, client.tokenSha256) && found === undefined) found = client
    }
    if (found === undefined) return next(new ServiceError('unauthorized'))
    res.locals.client = found
    return next()
  }
}

/** The authenticated caller (set by authenticate). */
export function callerOf(res: Response): ClientConfig {
  return res.locals.client as ClientConfig
}

/**
 * Throws 403 unless the caller holds the scope and the SDKAppID. The same answer for an app that
 * does not exist as for one not granted: callers cannot probe which apps are configured.
 */
export function authorize(client: ClientConfig, scope: Scope, sdkAppId: number): void {
  if (!client.scopes.has(scope) || !client.apps.has(sdkAppId)) {
    throw new ServiceError('forbidden', `This caller may not use ${scope} for this SDKAppID.`)
  }
}
