// The non-secret defaults, from config/defaults.json: per-app limits when an app leaves them out
// (seconds; ~2 months default as Tencent suggests, 180 days maximum as the official libraries and
// Tencent's console use, 300 s for a PrivateMapKey), and the development default's app and caller.
import { readFileSync } from 'node:fs'
import type { UserIdPolicy } from '../usersig/index.js'

/**
 * What a caller may be granted. `usersig:issue-admin` goes with `usersig:issue` or
 * `privatemapkey:issue`: it lets a caller mint tickets for an app's reserved UserIDs.
 */
export const SCOPES = [
  'usersig:issue',
  'usersig:verify',
  'privatemapkey:issue',
  'usersig:issue-admin',
] as const
export type Scope = (typeof SCOPES)[number]

const DEFAULTS = JSON.parse(
  readFileSync(new URL('../../config/defaults.json', import.meta.url), 'utf8'),
) as {
  app: {
    defaultExpire: number
    minExpire: number
    maxExpire: number
    privateMapKeyDefaultExpire: number
    privateMapKeyMaxExpire: number
    userIdPolicy: UserIdPolicy
    reservedUserIds: string[]
  }
  development: { sdkAppId: number; keyId: string; clientId: string; scopes: Scope[] }
}

export const APP_DEFAULTS = Object.freeze(DEFAULTS.app)
export const DEVELOPMENT_DEFAULTS = Object.freeze(DEFAULTS.development)
