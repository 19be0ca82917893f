// A signing key: the console's secret string, imported once, never printed.
import { createHash, createSecretKey, type KeyObject } from 'node:crypto'
import { inspect } from 'node:util'

/** Shorter secrets are refused by the service's configuration and the CLI: console keys are 64 characters. */
export const MIN_SECRET_LENGTH = 32

/**
 * Why `secret` would be refused as an app's secret key, or null when it is fine. The codec itself
 * signs with any non-empty secret (tests, other tools); the service and the CLI apply this rule,
 * in these words, so both refuse the same keys.
 */
export function checkSecret(secret: unknown): string | null {
  return typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || secret.trim() !== secret
    ? `secret must be a string of at least ${MIN_SECRET_LENGTH} characters without surrounding white space (the console key is 64)`
    : null
}

/** One SDKAppID secret key, ready for HMAC. Printing or serialising it shows only id and fingerprint. */
export interface UserSigKey {
  /** The operator's name for the key (e.g. "2026-11"); reported by verify so rotation is observable. */
  readonly id: string
  /** First 16 hex digits of SHA-256 of the secret: tells keys apart in logs without revealing them. */
  readonly fingerprint: string
  readonly secret: KeyObject
}

/**
 * Imports a secret key. The key is the console's secret string used as its UTF-8 bytes: a
 * 64-hex-character key is NOT hex-decoded, because no official library does that. The bytes live
 * in a KeyObject, which never prints them.
 */
export function createUserSigKey(id: string, secret: string): UserSigKey {
  if (typeof id !== 'string' || id.length === 0)
    throw new TypeError('key id must be a non-empty string')
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new TypeError(`key "${id}": secret must be a non-empty string`)
  }
  const bytes = Buffer.from(secret, 'utf8')
  const key: UserSigKey = {
    id,
    fingerprint: createHash('sha256').update(bytes).digest('hex').slice(0, 16),
    secret: createSecretKey(bytes),
  }
  // KeyObject already refuses to print its bytes; these keep the whole object tidy in logs.
  Object.defineProperties(key, {
    toJSON: { value: () => ({ id, fingerprint: key.fingerprint }) },
    [inspect.custom]: {
      value: () => `UserSigKey { id: '${id}', fingerprint: '${key.fingerprint}' }`,
    },
  })
  return Object.freeze(key)
}
