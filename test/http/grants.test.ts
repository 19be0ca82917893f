// Who may mint what, beyond scopes and SDKAppIDs: an app's reserved (admin) UserIDs, a caller's
// user-id pattern, a caller's PrivateMapKey privileges, a PrivateMapKey's own expiry ceiling, and
// JWTs of bounded life. Static clients and JWT callers alike, through real HTTP.
import { randomBytes } from 'node:crypto'
import { loadConfig } from '../../src/config/index.js'
import { compileUserIdPattern } from '../../src/config/user-id-pattern.js'
import {
  APP_A,
  buildApp,
  expectProblem,
  post,
  TOKENS,
  USERSIG_APPS,
  USERSIG_CLIENTS,
} from '../helpers/http.js'
import { AUDIENCE, ISSUER, signJwt, unixNow } from '../helpers/idp.js'

const token = () => randomBytes(32).toString('base64url')
const GAME = token()
const ADMIN = token()
const JWT_SECRET = randomBytes(32).toString('hex')
const jwtKey = new TextEncoder().encode(JWT_SECRET)

const clients = [
  ...USERSIG_CLIENTS,
  {
    id: 'game-backend',
    token: GAME,
    apps: [APP_A],
    scopes: ['usersig:issue', 'privatemapkey:issue'],
    userIdPattern: 'player_[0-9]+',
    maxPrivileges: 6,
  },
  {
    id: 'ops-console',
    token: ADMIN,
    apps: [APP_A],
    scopes: ['usersig:issue', 'privatemapkey:issue', 'usersig:issue-admin'],
  },
]
const built = buildApp({
  env: {
    USERSIG_CLIENTS: JSON.stringify(clients),
    USERSIG_JWT_ISSUER: ISSUER,
    USERSIG_JWT_AUDIENCE: AUDIENCE,
    USERSIG_JWT_SECRET: JWT_SECRET,
  },
  clock: unixNow,
})
const { app } = built

const issue = (bearer: string, userId: string) =>
  post(app, '/usersig', bearer, { sdkAppId: APP_A, userId })
const batch = (bearer: string, userIds: string[]) =>
  post(app, '/usersig/batch', bearer, { sdkAppId: APP_A, userIds })
const privateMapKey = (bearer: string, userId: string, privileges: number | string[]) =>
  post(app, '/privatemapkey', bearer, { sdkAppId: APP_A, userId, roomId: 7, privileges })
const jwt = (claims: Record<string, unknown> = {}, options: Record<string, unknown> = {}) =>
  signJwt(
    jwtKey,
    { alg: 'HS256' },
    { scope: 'usersig:issue privatemapkey:issue', ...claims },
    options,
  )

describe('reserved UserIDs: an app admin account needs usersig:issue-admin', () => {
  const RESERVED =
    'This userId is reserved for admin use in this SDKAppID: it needs the scope usersig:issue-admin.'

  test('administrator is refused to an ordinary caller, static or JWT, UserSig or PrivateMapKey', async () => {
    expectProblem(await issue(TOKENS.chat, 'administrator'), 403, 'user_id_reserved', {
      detail: RESERVED,
    })
    expectProblem(await issue(await jwt(), 'administrator'), 403, 'user_id_reserved', {
      detail: RESERVED,
    })
    expectProblem(
      await privateMapKey(TOKENS.chat, 'administrator', ['enterRoom']),
      403,
      'user_id_reserved',
      { detail: RESERVED },
    )
    expect(built.logs().filter((l) => l.userId === 'administrator')).toEqual([])
  })

  test('the admin scope lets a caller through, static or JWT; the audit line names it', async () => {
    const res = await issue(ADMIN, 'administrator')
    expect(res.status).toBe(200)
    expect(res.body.userId).toBe('administrator')
    const viaJwt = await issue(
      await jwt({ scope: 'usersig:issue usersig:issue-admin' }),
      'administrator',
    )
    expect(viaJwt.status).toBe(200)
    expect(built.logs()).toContainEqual(
      expect.objectContaining({
        audit: 'usersig.issued',
        client: 'ops-console',
        via: 'static',
        userId: 'administrator',
      }),
    )
  })

  test('the match is exact and case-sensitive, as Tencent matches UserIDs', async () => {
    expect((await issue(TOKENS.chat, 'Administrator')).status).toBe(200)
    expect((await issue(TOKENS.chat, 'administrator2')).status).toBe(200)
  })

  test('in a batch, each reserved id is refused on its own, the rest issued', async () => {
    const res = await batch(TOKENS.chat, ['alice', 'administrator', 'bob'])
    expect(res.status).toBe(200)
    expect(
      res.body.results.map(
        (r: { userSig?: string; error?: { code: string } }) => r.error?.code ?? 'issued',
      ),
    ).toEqual(['issued', 'user_id_reserved', 'issued'])
    expect(res.body).toMatchObject({ issued: 2, failed: 1 })
  })

  test("an app's own list replaces the default; an empty list reserves nothing", async () => {
    const apps = (reservedUserIds: string[]) =>
      buildApp({
        env: {
          USERSIG_APPS: JSON.stringify({
            ...USERSIG_APPS,
            [APP_A]: { ...USERSIG_APPS[APP_A], reservedUserIds },
          }),
        },
      }).app
    const listed = apps(['administrator', 'im_admin'])
    expect(
      (await post(listed, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'im_admin' })).status,
    ).toBe(403)
    const none = apps([])
    expect(
      (await post(none, '/usersig', TOKENS.chat, { sdkAppId: APP_A, userId: 'administrator' }))
        .status,
    ).toBe(200)
  })
})

describe("a caller's user-id pattern: tickets only for the UserIDs it matches", () => {
  const NOT_ALLOWED = "This userId is outside this caller's userIdPattern."

  test('static userIdPattern: the whole UserID must match', async () => {
    expect((await issue(GAME, 'player_42')).status).toBe(200)
    for (const userId of ['alice', 'player_', 'player_42x', 'xplayer_42', 'PLAYER_42'])
      expectProblem(await issue(GAME, userId), 403, 'user_id_not_allowed', { detail: NOT_ALLOWED })
    expectProblem(await privateMapKey(GAME, 'alice', ['enterRoom']), 403, 'user_id_not_allowed', {
      detail: NOT_ALLOWED,
    })
  })

  test('a UserID outside the app policy is still a 400 first, not a 403', async () => {
    expectProblem(await issue(GAME, 'player 42'), 400, 'user_id_invalid', {
      detail: 'userId must be 1 to 32 characters of A-Z a-z 0-9 _ - (policy "strict")',
      errors: [{ field: '/userId', message: expect.any(String) }],
    })
  })

  test('in a batch, per item', async () => {
    const res = await batch(GAME, ['player_1', 'alice', 'player_2'])
    expect(
      res.body.results.map((r: { error?: { code: string } }) => r.error?.code ?? 'issued'),
    ).toEqual(['issued', 'user_id_not_allowed', 'issued'])
  })

  test('the JWT claim usersig_user_pattern narrows a JWT caller the same way', async () => {
    const bearer = await jwt({ usersig_user_pattern: 'team_(red|blue)_[a-z]+' })
    expect((await issue(bearer, 'team_red_ann')).status).toBe(200)
    expectProblem(await issue(bearer, 'team_green_ann'), 403, 'user_id_not_allowed', {
      detail: NOT_ALLOWED,
    })
  })

  test.each([
    ['too long', 'a'.repeat(201)],
    ['unbalanced (wrapped in a group first, a)|(.* matched every UserID)', 'a)|(.*'],
    ['a backreference (not linear time)', '(a)\\1'],
    ['a lookahead (not linear time)', '(?=a)a'],
    ['not a string', 42],
    ['empty', ''],
  ])(
    'a JWT whose usersig_user_pattern is %s is refused (401), never taken as no pattern',
    async (_, pattern) => {
      expectProblem(
        await issue(await jwt({ usersig_user_pattern: pattern }), 'alice'),
        401,
        'unauthorized',
      )
    },
  )

  test("an unbalanced claim is logged with RE2's reason, never with the token", async () => {
    const bearer = await jwt({ usersig_user_pattern: 'x)|(.*' })
    expectProblem(await issue(bearer, 'anyone'), 401, 'unauthorized')
    expect(built.logs()).toContainEqual(
      expect.objectContaining({
        audit: 'auth.failed',
        reason: 'jwt_claim_invalid',
        note: 'usersig_user_pattern does not compile: error parsing regexp: unexpected ): `x)|(.*`',
        count: 1,
      }),
    )
    expect(built.logLines.join('\n')).not.toContain(bearer)
    expect(built.logLines.join('\n')).not.toContain(bearer.split('.')[2])
  })
})

describe('user-id patterns cannot make a request slow', () => {
  // Patterns that take exponential time in a backtracking engine: with RegExp, (a+)+$ on 30 a's
  // and a ! already takes seconds. RE2's engine matches in time linear in the UserID.
  test.each(['(a+)+', '(a|a)+', '(a*)*b', '(x+x+)+y', '([a-z]+)*[0-9]', '(.*a){20}'])(
    'the hostile pattern %s against a 4 KiB UserID: under 10 ms',
    (source) => {
      const compiled = compileUserIdPattern(source)
      if (!('pattern' in compiled)) throw new Error(compiled.problem)
      const userId = `${'a'.repeat(4096)}!`
      compiled.pattern.matches(userId) // warm up
      const times = Array.from({ length: 5 }, () => {
        const started = performance.now()
        expect(compiled.pattern.matches(userId)).toBe(false)
        return performance.now() - started
      }).sort((a, b) => a - b)
      // the median of five, so that one descheduling on a busy machine does not count
      expect(times[2]).toBeLessThan(10)
    },
  )

  test('a pattern is checked when it is loaded: its size, and whether it compiles in RE2', () => {
    const load = (userIdPattern: unknown) => () =>
      loadConfig({
        NODE_ENV: 'test',
        USERSIG_APPS: JSON.stringify(USERSIG_APPS),
        USERSIG_CLIENTS: JSON.stringify([{ ...clients[4], userIdPattern }]),
      })
    expect(load('a'.repeat(201))).toThrow(
      'client "game-backend": userIdPattern must be a regular expression of 1 to 200 characters',
    )
    expect(load('(a)\\1')).toThrow(
      'client "game-backend": userIdPattern does not compile: error parsing regexp: invalid escape sequence: `\\1`',
    )
    expect(load('player_[0-9')).toThrow('client "game-backend": userIdPattern does not compile')
  })

  test.each(['a)|(.*', 'player_1)|(.*', 'a)(?:b', '(a', 'a)'])(
    'the unbalanced %s is refused at load, as written: wrapped in a group it would match every UserID',
    (source) => {
      const compiled = compileUserIdPattern(source)
      expect(compiled).toEqual({
        problem: expect.stringMatching(
          /^does not compile: error parsing regexp: (unexpected|missing closing) \): /,
        ),
      })
      expect(() =>
        loadConfig({
          NODE_ENV: 'test',
          USERSIG_APPS: JSON.stringify(USERSIG_APPS),
          USERSIG_CLIENTS: JSON.stringify([{ ...clients[4], userIdPattern: source }]),
        }),
      ).toThrow(
        `USERSIG_CLIENTS: client "game-backend": userIdPattern ${(compiled as { problem: string }).problem}`,
      )
    },
  )
})

describe("a caller's PrivateMapKey privileges: at most its maxPrivileges", () => {
  test('static maxPrivileges 6 (enterRoom, sendAudio): within it issued, beyond it 403', async () => {
    const ok = await privateMapKey(GAME, 'player_1', ['enterRoom', 'sendAudio'])
    expect(ok.status).toBe(200)
    expect(ok.body.privileges).toBe(6)
    expect((await privateMapKey(GAME, 'player_1', 2)).status).toBe(200)
    expectProblem(
      await privateMapKey(GAME, 'player_1', ['createRoom', 'enterRoom']),
      403,
      'privileges_not_allowed',
      {
        detail: 'This caller may grant at most enterRoom, sendAudio; not createRoom.',
      },
    )
    expectProblem(await privateMapKey(GAME, 'player_1', 255), 403, 'privileges_not_allowed', {
      detail:
        'This caller may grant at most enterRoom, sendAudio; not createRoom, receiveAudio, sendVideo, receiveVideo, sendSubStream, receiveSubStream.',
    })
  })

  test('without maxPrivileges, every privilege may be granted', async () => {
    expect((await privateMapKey(TOKENS.chat, 'alice', 255)).status).toBe(200)
  })

  test('the JWT claim usersig_max_privileges, and an invalid one refusing the token', async () => {
    const receiveOnly = await jwt({ usersig_max_privileges: 8 + 32 })
    expect(
      (await privateMapKey(receiveOnly, 'alice', ['receiveAudio', 'receiveVideo'])).status,
    ).toBe(200)
    expectProblem(
      await privateMapKey(receiveOnly, 'alice', ['sendAudio']),
      403,
      'privileges_not_allowed',
      { detail: 'This caller may grant at most receiveAudio, receiveVideo; not sendAudio.' },
    )
    for (const invalid of [256, -1, 1.5, '6'])
      expectProblem(
        await privateMapKey(await jwt({ usersig_max_privileges: invalid }), 'alice', 2),
        401,
        'unauthorized',
      )
  })
})

describe('JWTs of bounded life', () => {
  test('an hour is the default longest life: exp - iat over it is refused, at it accepted', async () => {
    const now = unixNow()
    expect((await issue(await jwt({}, { iat: now, exp: now + 3600 }), 'alice')).status).toBe(200)
    expectProblem(
      await issue(await jwt({}, { iat: now, exp: now + 3601 }), 'alice'),
      401,
      'unauthorized',
    )
    expectProblem(
      await issue(await jwt({}, { iat: now, exp: 1e300 }), 'alice'),
      401,
      'unauthorized',
    )
  })

  test('iat is required, and may not lie ahead beyond the clock tolerance (30 s)', async () => {
    const now = unixNow()
    expectProblem(await issue(await jwt({}, { iat: null }), 'alice'), 401, 'unauthorized')
    expectProblem(
      await issue(await jwt({}, { iat: now + 120, exp: now + 600 }), 'alice'),
      401,
      'unauthorized',
    )
    expect((await issue(await jwt({}, { iat: now + 10, exp: now + 600 }), 'alice')).status).toBe(
      200,
    )
  })

  test('each refusal is logged with its reason, never the token', async () => {
    const now = unixNow()
    const long = await jwt({}, { iat: now, exp: now + 7200 })
    await issue(long, 'alice')
    expect(built.logs()).toContainEqual(
      expect.objectContaining({ audit: 'auth.failed', reason: 'jwt_lifetime_too_long' }),
    )
    expect(built.logLines.join('\n')).not.toContain(long.split('.')[2])
  })
})
