// The development default: with nothing configured outside production, a demo app with a fresh
// random key and a demo caller with a fresh random token, for this process only.
import { createHash, randomBytes } from 'node:crypto'
import { createUserSigKey } from '../usersig/index.js'
import type { AppConfig } from './apps.js'
import { ALL_PRIVILEGES, type ClientConfig } from './clients.js'
import { APP_DEFAULTS, DEVELOPMENT_DEFAULTS, type Scope } from './defaults.js'

/** The generated demo app and caller token, shown once on the terminal. */
export interface DevDefault {
  readonly sdkAppId: number
  readonly clientId: string
  readonly token: string
}

export function developmentDefault(): {
  apps: ReadonlyMap<number, AppConfig>
  clients: readonly ClientConfig[]
  devDefault: DevDefault
} {
  const { sdkAppId, keyId, clientId, scopes } = DEVELOPMENT_DEFAULTS
  const token = randomBytes(24).toString('base64url')
  const key = createUserSigKey(keyId, randomBytes(32).toString('hex'))
  const app: AppConfig = Object.freeze({
    sdkAppId,
    keys: [key],
    signingKey: key,
    ...APP_DEFAULTS,
    reservedUserIds: new Set(APP_DEFAULTS.reservedUserIds),
  })
  const client: ClientConfig = Object.freeze({
    id: clientId,
    tokenSha256: createHash('sha256').update(token).digest(),
    apps: new Set([sdkAppId]),
    scopes: new Set<Scope>(scopes),
    rateLimitPerMinute: null,
    userIdPattern: null,
    maxPrivileges: ALL_PRIVILEGES,
  })
  return {
    apps: new Map([[sdkAppId, app]]),
    clients: [client],
    devDefault: Object.freeze({ sdkAppId, clientId, token }),
  }
}
