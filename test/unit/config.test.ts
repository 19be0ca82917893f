import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import { ConfigError, loadConfig } from '../../src/config/index.js'

const secretA = randomBytes(32).toString('hex')
const secretB = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')
const apps = {
  '1400000000': {
    keys: [
      { id: 'new', secret: secretA },
      { id: 'old', secret: secretB },
    ],
  },
}
const clients = [{ id: 'backend', token, apps: [1400000000], scopes: ['usersig:issue'] }]
const good = { USERSIG_APPS: JSON.stringify(apps), USERSIG_CLIENTS: JSON.stringify(clients) }

function problems(
  env: Record<string, string | undefined>,
  readFile?: (p: string) => string,
): string[] {
  try {
    loadConfig(env, readFile)
  } catch (error) {
    if (error instanceof ConfigError) {
      // No problem report may ever quote a secret or a token.
      for (const secret of [secretA, secretB, token]) expect(error.message).not.toContain(secret)
      return [...error.problems]
    }
    throw error
  }
  return []
}

describe('loadConfig', () => {
  test('reads apps and clients with documented defaults', () => {
    const config = loadConfig(good)
    const app = config.policy.apps.get(1400000000)
    expect(app).toMatchObject({
      sdkAppId: 1400000000,
      defaultExpire: 5184000,
      minExpire: 60,
      maxExpire: 15552000,
      privateMapKeyDefaultExpire: 300,
      userIdPolicy: 'strict',
    })
    expect(app?.keys.map((k) => k.id)).toEqual(['new', 'old'])
    expect(config.process).toMatchObject({
      production: false,
      host: '127.0.0.1',
      port: 8080,
      debugEndpoints: true,
    })
    expect(config.policy.devDefault).toBeNull()
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.process)).toBe(true)
    expect(Object.isFrozen(config.policy)).toBe(true)
    expect(config.policy.clients[0]?.scopes).toEqual(new Set(['usersig:issue']))
  })

  test('production defaults: listen on all interfaces, debug endpoints off', () => {
    expect(
      loadConfig({ ...good, NODE_ENV: 'production', METRICS_PORT: '9100' }).process,
    ).toMatchObject({
      host: '0.0.0.0',
      debugEndpoints: false,
      production: true,
    })
  })

  test('reads *_FILE variables (mounted secrets)', () => {
    const files: Record<string, string> = {
      '/run/secrets/apps': good.USERSIG_APPS,
      '/run/secrets/clients': good.USERSIG_CLIENTS,
    }
    const config = loadConfig(
      { USERSIG_APPS_FILE: '/run/secrets/apps', USERSIG_CLIENTS_FILE: '/run/secrets/clients' },
      (p) => {
        const text = files[p]
        if (text === undefined) throw new Error('ENOENT')
        return text
      },
    )
    expect(config.policy.apps.size).toBe(1)
  })

  test('a client may give the SHA-256 of its token instead of the token', async () => {
    const { createHash } = await import('node:crypto')
    const sha = createHash('sha256').update(token).digest('hex')
    const config = loadConfig({
      ...good,
      USERSIG_CLIENTS: JSON.stringify([{ ...clients[0], token: undefined, tokenSha256: sha }]),
    })
    expect(config.policy.clients[0]?.tokenSha256.toString('hex')).toBe(sha)
  })

  test('outside production with nothing configured: a generated development default', () => {
    const { policy } = loadConfig({})
    expect(policy.devDefault).toMatchObject({ sdkAppId: 1400000000, clientId: 'dev' })
    expect(policy.devDefault?.token.length).toBeGreaterThanOrEqual(32)
    expect(loadConfig({}).policy.devDefault?.token).not.toBe(policy.devDefault?.token)
  })

  test('production refuses to start without apps and clients', () => {
    expect(problems({ NODE_ENV: 'production', METRICS_PORT: '9100' })).toEqual([
      'USERSIG_APPS: not set (nor USERSIG_APPS_FILE); configure at least one SDKAppID',
      'USERSIG_CLIENTS: not set (nor USERSIG_CLIENTS_FILE); configure at least one caller (or JWT callers)',
    ])
  })

  const badApps: [string, unknown, string][] = [
    [
      'an SDKAppID that is not a number',
      { abc: apps['1400000000'] },
      'USERSIG_APPS: app "abc": the key must be an SDKAppID (an integer from 1 to 4294967295)',
    ],
    [
      'no keys',
      { '1400000000': { keys: [] } },
      'USERSIG_APPS: app "1400000000": keys must be a list of 1 to 8 keys (the first signs, all verify)',
    ],
    [
      'a short secret',
      { '1400000000': { keys: [{ id: 'k', secret: 'short' }] } },
      'USERSIG_APPS: app "1400000000": key "k": secret must be a string of at least 32 characters without surrounding white space (the console key is 64)',
    ],
    [
      'a secret with a trailing newline',
      { '1400000000': { keys: [{ id: 'k', secret: `${secretA}\n` }] } },
      'USERSIG_APPS: app "1400000000": key "k": secret must be a string of at least 32 characters without surrounding white space (the console key is 64)',
    ],
    [
      'a key id used twice',
      {
        '1400000000': {
          keys: [
            { id: 'k', secret: secretA },
            { id: 'k', secret: secretB },
          ],
        },
      },
      'USERSIG_APPS: app "1400000000": key "k": the id is used twice',
    ],
    [
      'a secret listed twice',
      {
        '1400000000': {
          keys: [
            { id: 'a', secret: secretA },
            { id: 'b', secret: secretA },
          ],
        },
      },
      'USERSIG_APPS: app "1400000000": key "b": the same secret is listed twice',
    ],
    [
      'minExpire above maxExpire',
      {
        '1400000000': {
          ...apps['1400000000'],
          minExpire: 100,
          maxExpire: 50,
          defaultExpire: 60,
          privateMapKeyDefaultExpire: 60,
        },
      },
      'USERSIG_APPS: app "1400000000": minExpire is greater than maxExpire',
    ],
    [
      'a fractional expire',
      { '1400000000': { ...apps['1400000000'], defaultExpire: 86400.5 } },
      'USERSIG_APPS: app "1400000000": defaultExpire must be an integer number of seconds from 0 to 1576800000 (50 years)',
    ],
    [
      'an unknown policy',
      { '1400000000': { ...apps['1400000000'], userIdPolicy: 'any' } },
      'USERSIG_APPS: app "1400000000": userIdPolicy must be one of strict, printable',
    ],
    [
      'an unknown field',
      { '1400000000': { ...apps['1400000000'], maxExpiry: 5 } },
      'USERSIG_APPS: app "1400000000": unknown field "maxExpiry"',
    ],
  ]
  test.each(badApps)(
    'refuses apps with %s, naming the app and key, not the secret',
    (_, value, problem) => {
      expect(problems({ ...good, USERSIG_APPS: JSON.stringify(value) })).toContain(problem)
    },
  )

  const badClients: [string, unknown, string][] = [
    [
      'a short token',
      [{ ...clients[0], token: 'short' }],
      'USERSIG_CLIENTS: client "backend": token must be at least 32 printable characters without spaces',
    ],
    [
      'both token and tokenSha256',
      [{ ...clients[0], tokenSha256: 'ab'.repeat(32) }],
      'USERSIG_CLIENTS: client "backend": give exactly one of "token" or "tokenSha256"',
    ],
    [
      'a bad tokenSha256',
      [{ ...clients[0], token: undefined, tokenSha256: 'xyz' }],
      'USERSIG_CLIENTS: client "backend": tokenSha256 must be 64 hex digits (the SHA-256 of the token)',
    ],
    [
      'an app that is not configured',
      [{ ...clients[0], apps: [1400000009] }],
      'USERSIG_CLIENTS: client "backend": apps lists 1400000009, which is not a configured SDKAppID',
    ],
    [
      'an unknown scope',
      [{ ...clients[0], scopes: ['usersig:admin'] }],
      'USERSIG_CLIENTS: client "backend": unknown scope "usersig:admin"; known: usersig:issue, usersig:verify, privatemapkey:issue, usersig:issue-admin',
    ],
    [
      'no scopes',
      [{ ...clients[0], scopes: [] }],
      'USERSIG_CLIENTS: client "backend": scopes must be a non-empty list of usersig:issue, usersig:verify, privatemapkey:issue, usersig:issue-admin',
    ],
    [
      'a token shared by two clients',
      [clients[0], { ...clients[0], id: 'twin' }],
      'USERSIG_CLIENTS: client "twin": the same token is given to another client',
    ],
    [
      'a duplicate id',
      [clients[0], { ...clients[0], token: token + 'x' }],
      'USERSIG_CLIENTS: client "backend": the id is used twice',
    ],
    ['an empty list', [], 'USERSIG_CLIENTS: must be a JSON list of callers, with at least one'],
    [
      'a zero rate limit',
      [{ ...clients[0], rateLimitPerMinute: 0 }],
      'USERSIG_CLIENTS: client "backend": rateLimitPerMinute must be a positive integer (tickets per minute)',
    ],
  ]
  test.each(badClients)(
    'refuses clients with %s, naming the client, not the token',
    (_, value, problem) => {
      expect(problems({ ...good, USERSIG_CLIENTS: JSON.stringify(value) })).toContain(problem)
    },
  )

  test('never echoes invalid JSON, which would quote secrets', () => {
    const broken = `{"1400000000": {"keys": [{"id": "k", "secret": "${secretA}"}]`
    expect(problems({ ...good, USERSIG_APPS: broken })).toEqual([
      'USERSIG_APPS: not valid JSON: line 1, column 116: a "}" was expected',
    ])
  })

  test('reports every problem at once, across variables', () => {
    const found = problems({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      USERSIG_APPS: JSON.stringify({ '1400000000': { keys: [{ id: 'k', secret: 'short' }] } }),
      USERSIG_CLIENTS_FILE: '/nonexistent/clients.json',
    })
    expect(found).toHaveLength(4)
    expect(found.join('\n')).toMatch(/PORT: .*\n?/)
    expect(found).toContain(
      'USERSIG_CLIENTS_FILE: cannot read /nonexistent/clients.json: no such file (ENOENT)',
    )
    expect(found.some((p) => p.startsWith('LOG_LEVEL: '))).toBe(true)
  })

  test('refuses the example files as they are: their placeholders never go live', () => {
    const example = (name: string) =>
      fileURLToPath(new URL(`../../config/${name}.example.json`, import.meta.url))
    const fromFile =
      "secret is still the placeholder from config/apps.example.json: put the app's key from the IM console in its place"
    expect(
      problems({ USERSIG_APPS_FILE: example('apps'), USERSIG_CLIENTS_FILE: example('clients') }),
    ).toEqual([
      `USERSIG_APPS_FILE: app "1400000000": key "2026-11": ${fromFile}`,
      `USERSIG_APPS_FILE: app "1400000000": key "2026-05": ${fromFile}`,
      ...['chat-backend', 'game-backend', 'ops-console'].map(
        (id) =>
          `USERSIG_CLIENTS_FILE: client "${id}": tokenSha256 must be 64 hex digits (the SHA-256 of the token)`,
      ),
    ])
  })

  test(".env.example as it is: each placeholder's message names .env.example's line", () => {
    const env = parseEnv(readFileSync(new URL('../../.env.example', import.meta.url), 'utf8'))
    expect(problems(env)).toEqual([
      `USERSIG_APPS: app "1400000000": key "2026-11": secret is still the placeholder from .env.example's USERSIG_APPS line: put the app's key from the IM console in its place`,
      `USERSIG_CLIENTS: client "chat-backend": token is still the placeholder from .env.example's USERSIG_CLIENTS line: put a random token of 32 or more characters in its place`,
    ])
  })

  const jwtSecret = randomBytes(16).toString('hex').slice(0, 20) // too short on purpose
  const badJwt: [string, Record<string, string>, string][] = [
    [
      'no issuer',
      { USERSIG_JWT_AUDIENCE: 'a', USERSIG_JWT_SECRET: 'x'.repeat(32) },
      'USERSIG_JWT_ISSUER: required for JWT callers (the `iss` tokens must carry)',
    ],
    [
      'no audience',
      { USERSIG_JWT_ISSUER: 'i', USERSIG_JWT_SECRET: 'x'.repeat(32) },
      'USERSIG_JWT_AUDIENCE: required for JWT callers (the `aud` tokens must carry)',
    ],
    [
      'both a JWKS and a secret',
      {
        USERSIG_JWT_ISSUER: 'i',
        USERSIG_JWT_AUDIENCE: 'a',
        USERSIG_JWKS_URL: 'https://idp/jwks',
        USERSIG_JWT_SECRET: 'x'.repeat(32),
      },
      'USERSIG_JWKS_URL: give exactly one of USERSIG_JWKS_URL or USERSIG_JWT_SECRET(_FILE)',
    ],
    [
      'neither',
      { USERSIG_JWT_ISSUER: 'i', USERSIG_JWT_AUDIENCE: 'a' },
      'USERSIG_JWKS_URL: give exactly one of USERSIG_JWKS_URL or USERSIG_JWT_SECRET(_FILE)',
    ],
    [
      'a plain-http JWKS off loopback',
      {
        USERSIG_JWT_ISSUER: 'i',
        USERSIG_JWT_AUDIENCE: 'a',
        USERSIG_JWKS_URL: 'http://idp.internal/jwks',
      },
      'USERSIG_JWKS_URL: must be an https:// URL (http:// only for a loopback address)',
    ],
    [
      'a short secret',
      { USERSIG_JWT_ISSUER: 'i', USERSIG_JWT_AUDIENCE: 'a', USERSIG_JWT_SECRET: jwtSecret },
      'USERSIG_JWT_SECRET: must be at least 32 bytes',
    ],
    [
      'an unreadable secret file',
      {
        USERSIG_JWT_ISSUER: 'i',
        USERSIG_JWT_AUDIENCE: 'a',
        USERSIG_JWT_SECRET_FILE: '/nonexistent/jwt',
      },
      'USERSIG_JWT_SECRET_FILE: cannot read /nonexistent/jwt: no such file (ENOENT)',
    ],
    [
      'a huge clock tolerance',
      {
        USERSIG_JWT_ISSUER: 'i',
        USERSIG_JWT_AUDIENCE: 'a',
        USERSIG_JWT_SECRET: 'x'.repeat(32),
        USERSIG_JWT_CLOCK_TOLERANCE: '3600',
      },
      'USERSIG_JWT_CLOCK_TOLERANCE: must be an integer number of seconds from 0 to 300',
    ],
    ...['604801', '1.5', '-1', 'a day'].map(
      (value) =>
        [
          `a max stale age of ${value}`,
          {
            USERSIG_JWT_ISSUER: 'i',
            USERSIG_JWT_AUDIENCE: 'a',
            USERSIG_JWT_SECRET: 'x'.repeat(32),
            USERSIG_JWKS_MAX_STALE_SECONDS: value,
          },
          'USERSIG_JWKS_MAX_STALE_SECONDS: must be an integer number of seconds from 0 to 604800 (7 days)',
        ] as (typeof badJwt)[number],
    ),
  ]
  test.each(badJwt)(
    'refuses JWT settings with %s, never quoting the secret',
    (_, jwtEnv, problem) => {
      const found = problems({ ...good, ...jwtEnv })
      expect(found).toContain(problem)
      expect(found.join('\n')).not.toContain(jwtSecret)
    },
  )

  test.each([
    [undefined, 86_400],
    ['0', 0],
    ['604800', 604_800],
  ])('USERSIG_JWKS_MAX_STALE_SECONDS=%s gives %d seconds', (value, seconds) => {
    const jwtEnv = {
      USERSIG_JWT_ISSUER: 'i',
      USERSIG_JWT_AUDIENCE: 'a',
      USERSIG_JWT_SECRET: 'x'.repeat(32),
      ...(value === undefined ? {} : { USERSIG_JWKS_MAX_STALE_SECONDS: value }),
    }
    expect(loadConfig({ ...good, ...jwtEnv }).policy.jwt?.jwksMaxStaleSeconds).toBe(seconds)
  })

  test('refuses both a variable and its _FILE twin', () => {
    expect(problems({ ...good, USERSIG_APPS_FILE: '/x' })).toContain(
      'USERSIG_APPS: set either USERSIG_APPS or USERSIG_APPS_FILE, not both',
    )
  })
})
