// The apps document (USERSIG_APPS): SDKAppID -> keys and limits. A JSON Schema (2020-12) whose
// nodes carry their messages (schema.ts); the rules across fields are in apps.ts. A new optional
// field is its schema here, its default in config/defaults.json and its type in AppConfig.
import { checkSecret, USER_ID_POLICIES } from '../usersig/index.js'
import { ID_MESSAGE, ID_PATTERN, PLACEHOLDER_PATTERN } from './schema.js'

/** Tencent's documented ceiling for a UserSig's validity: 50 years. */
export const MAX_EXPIRE_CEILING = 50 * 365 * 86_400
export const MAX_KEYS_PER_APP = 8

const expire = {
  type: 'integer',
  minimum: 0,
  maximum: MAX_EXPIRE_CEILING,
  message: `{field} must be an integer number of seconds from 0 to ${MAX_EXPIRE_CEILING} (50 years)`,
}

export const APPS_SCHEMA = {
  $id: 'urn:usersig-service:config:apps',
  type: 'object',
  minProperties: 1,
  message: 'must be a JSON object of SDKAppID -> app, with at least one app',
  propertyNames: {
    format: 'sdkappid',
    message: 'the key must be an SDKAppID (an integer from 1 to 4294967295)',
  },
  additionalProperties: { $ref: '#/$defs/app' },
  $defs: {
    app: {
      type: 'object',
      required: ['keys'],
      additionalProperties: false,
      message: 'must be an object with "keys"',
      properties: {
        keys: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_KEYS_PER_APP,
          items: { $ref: '#/$defs/key' },
          message: `keys must be a list of 1 to ${MAX_KEYS_PER_APP} keys (the first signs, all verify)`,
        },
        defaultExpire: expire,
        minExpire: expire,
        maxExpire: expire,
        privateMapKeyDefaultExpire: expire,
        privateMapKeyMaxExpire: expire,
        reservedUserIds: {
          type: 'array',
          uniqueItems: true,
          maxItems: 100,
          items: { type: 'string', minLength: 1, maxLength: 32 },
          message:
            'reservedUserIds must be a list of up to 100 distinct UserIDs (1 to 32 characters each)',
        },
        userIdPolicy: {
          enum: USER_ID_POLICIES,
          message: `userIdPolicy must be one of ${USER_ID_POLICIES.join(', ')}`,
        },
      },
    },
    key: {
      type: 'object',
      required: ['id', 'secret'],
      additionalProperties: false,
      message: 'must be an object with "id" and "secret"',
      properties: {
        id: { type: 'string', pattern: ID_PATTERN, message: ID_MESSAGE },
        secret: {
          usersigSecret: true,
          not: { type: 'string', pattern: PLACEHOLDER_PATTERN },
          message: {
            not: "secret is still the placeholder from {example}: put the app's key from the IM console in its place",
            required: checkSecret(undefined) as string,
          },
        },
      },
    },
  },
} as const
