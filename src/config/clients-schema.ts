// The clients document (USERSIG_CLIENTS): the static callers, each with a token (or its SHA-256),
// granted SDKAppIDs and scopes. A JSON Schema (2020-12) whose nodes carry their messages
// (schema.ts); the rules across fields and across clients are in clients.ts.
import { MAX_SDKAPPID } from '../usersig/index.js'
import { SCOPES } from './defaults.js'
import { ID_MESSAGE, ID_PATTERN, PLACEHOLDER_PATTERN } from './schema.js'
import { MAX_USER_ID_PATTERN_LENGTH } from './user-id-pattern.js'

export const MIN_TOKEN_LENGTH = 32

export const CLIENTS_SCHEMA = {
  $id: 'urn:usersig-service:config:clients',
  type: 'array',
  minItems: 1,
  message: 'must be a JSON list of callers, with at least one',
  items: {
    type: 'object',
    required: ['id', 'apps', 'scopes'],
    additionalProperties: false,
    message: 'must be an object',
    properties: {
      id: { type: 'string', pattern: ID_PATTERN, message: ID_MESSAGE },
      token: {
        type: 'string',
        minLength: MIN_TOKEN_LENGTH,
        pattern: '^[\\x21-\\x7e]+$',
        not: { type: 'string', pattern: PLACEHOLDER_PATTERN },
        message: {
          not: 'token is still the placeholder from {example}: put a random token of 32 or more characters in its place',
          '*': `token must be at least ${MIN_TOKEN_LENGTH} printable characters without spaces`,
        },
      },
      tokenSha256: {
        type: 'string',
        pattern: '^[0-9a-fA-F]{64}$',
        message: 'tokenSha256 must be 64 hex digits (the SHA-256 of the token)',
      },
      apps: {
        type: 'array',
        minItems: 1,
        message: 'apps must be a non-empty list of SDKAppIDs',
        items: {
          type: 'integer',
          minimum: 1,
          maximum: MAX_SDKAPPID,
          message: 'apps lists {value}, which is not a configured SDKAppID',
        },
      },
      scopes: {
        type: 'array',
        minItems: 1,
        message: `scopes must be a non-empty list of ${SCOPES.join(', ')}`,
        items: {
          enum: SCOPES,
          message: `unknown scope {value}; known: ${SCOPES.join(', ')}`,
        },
      },
      rateLimitPerMinute: {
        type: 'integer',
        minimum: 1,
        message: 'rateLimitPerMinute must be a positive integer (tickets per minute)',
      },
      userIdPattern: {
        type: 'string',
        minLength: 1,
        maxLength: MAX_USER_ID_PATTERN_LENGTH,
        message: `userIdPattern must be a regular expression of 1 to ${MAX_USER_ID_PATTERN_LENGTH} characters`,
      },
      maxPrivileges: {
        type: 'integer',
        minimum: 0,
        maximum: 255,
        message: 'maxPrivileges must be a PrivateMapKey privilege bit map from 0 to 255',
      },
    },
  },
} as const
