import { verifyUserSig } from '../../src/usersig/index.js'
import {
  APP_A,
  APP_B,
  buildApp,
  expectProblem,
  KEYS,
  LIMITS_A,
  NOW,
  post,
  TOKENS,
} from '../helpers/http.js'

const built = buildApp()
const batch = (body: object, token: string = TOKENS.chat) =>
  post(built.app, '/usersig/batch', token, body)

describe('POST /usersig/batch', () => {
  test('issues one ticket per user id, in order, with per-item errors for ids the policy refuses', async () => {
    const res = await batch({
      sdkAppId: APP_A,
      userIds: ['alice', 'bad id', 'bob', ''],
      expire: 3600,
    })
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const strict = 'userId must be 1 to 32 characters of A-Z a-z 0-9 _ - (policy "strict")'
    expect(res.body).toEqual({
      sdkAppId: APP_A,
      expire: 3600,
      issuedAt: NOW,
      expiresAt: NOW + 3600,
      keyId: '2026-11',
      issued: 2,
      failed: 2,
      results: [
        { userId: 'alice', userSig: expect.any(String) },
        { userId: 'bad id', error: { code: 'user_id_invalid', message: strict } },
        { userId: 'bob', userSig: expect.any(String) },
        {
          userId: '',
          error: { code: 'user_id_invalid', message: 'userId must be a non-empty string' },
        },
      ],
    })
    for (const { userId, userSig } of [res.body.results[0], res.body.results[2]]) {
      expect(
        verifyUserSig(userSig, [KEYS.aNew], { sdkAppId: APP_A, userId, now: NOW }),
      ).toMatchObject({ valid: true })
    }
    const audit = built
      .logs()
      .filter((line) => line.audit === 'usersig.issued' && Array.isArray(line.userIds))
    expect(audit.at(-1)).toMatchObject({
      client: 'chat-backend',
      sdkAppId: APP_A,
      userIds: ['alice', 'bob'],
      expire: 3600,
    })
    expect(JSON.stringify(audit)).not.toContain(res.body.results[0].userSig)
  })

  test('1000 users in one call; 1001 is refused', async () => {
    const userIds = Array.from({ length: 1000 }, (_, i) => `user_${i}`)
    const res = await batch({ sdkAppId: APP_A, userIds })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ issued: 1000, failed: 0, expire: LIMITS_A.defaultExpire })
    expect(new Set(res.body.results.map((r: { userSig: string }) => r.userSig)).size).toBe(1000)
    const tooMany = await batch({ sdkAppId: APP_A, userIds: [...userIds, 'one_more'] })
    expectProblem(tooMany, 400, 'invalid_request', {
      detail: 'The request does not match the API contract; see errors.',
      errors: [{ field: '/userIds', message: 'must NOT have more than 1000 items' }],
    })
  })

  test('the batch as a whole: expire out of range, another app, a missing scope, no ids', async () => {
    expect((await batch({ sdkAppId: APP_A, userIds: ['a'], expire: 1 })).body.code).toBe(
      'expire_out_of_range',
    )
    expect((await batch({ sdkAppId: APP_B, userIds: ['a'] })).status).toBe(403)
    expect((await batch({ sdkAppId: APP_A, userIds: ['a'] }, TOKENS.other)).status).toBe(403)
    expect((await batch({ sdkAppId: APP_A, userIds: [] })).body.code).toBe('invalid_request')
    expect((await batch({ sdkAppId: APP_A, userIds: ['a'] }, 'nope'.repeat(10))).status).toBe(401)
  })
})
