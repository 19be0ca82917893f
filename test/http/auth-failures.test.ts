// Failed authentications are logged at info, one line per reason per window with a count, never
// with the token; the caller always gets the same 401, whatever the reason.
import { randomBytes } from 'node:crypto'
import request from 'supertest'
import { loadConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/logger.js'
import { createAuthenticator } from '../../src/http/authenticate.js'
import {
  APP_A,
  buildApp,
  expectUnauthorized,
  post,
  sansRequestId,
  USERSIG_APPS,
  USERSIG_CLIENTS,
} from '../helpers/http.js'
import { sleep } from '../helpers/reliability.js'

const body = { sdkAppId: APP_A, userId: 'alice' }

test('50 unknown tokens: 50 identical 401s, one log line at info, and no token in the log', async () => {
  const built = buildApp()
  const tokens = Array.from({ length: 50 }, () => randomBytes(32).toString('base64url'))
  const answers = []
  for (const token of tokens) answers.push(await post(built.app, '/usersig', token, body))

  for (const res of answers) expectUnauthorized(res)
  expect(new Set(answers.map((res) => JSON.stringify(sansRequestId(res)))).size).toBe(1)
  const failed = built.logs().filter((line) => line.audit === 'auth.failed')
  expect(failed).toEqual([
    expect.objectContaining({ level: 30, reason: 'unknown_token', count: 1, windowSeconds: 10 }),
  ])
  for (const token of tokens) expect(built.logLines.join('\n')).not.toContain(token.slice(0, 12))
})

test('each reason has its own line: no token and a Basic one are both no_token, then unknown_token', async () => {
  const built = buildApp()
  await post(built.app, '/usersig', null, body)
  await request(built.app).post('/usersig').set('Authorization', 'Basic dXNlcjpwYXNz').send(body)
  await post(built.app, '/usersig', 'x'.repeat(40), body)

  expect(
    built
      .logs()
      .filter((line) => line.audit === 'auth.failed')
      .map((line) => [line.reason, line.count]),
  ).toEqual([
    ['no_token', 1],
    ['unknown_token', 1],
  ])
})

test('while failures keep coming, one line per window with their count; then quiet', async () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    USERSIG_APPS: JSON.stringify(USERSIG_APPS),
    USERSIG_CLIENTS: JSON.stringify(USERSIG_CLIENTS),
  })
  const lines: Record<string, unknown>[] = []
  const logger = createLogger('info', {
    write: (line: string) => void lines.push(JSON.parse(line)),
  })
  const authenticate = createAuthenticator({ logger, failureWindowMs: 300 })
  const fail = () => {
    expect(() => authenticate(config, `Bearer ${'y'.repeat(40)}`)).toThrow('A valid bearer token')
  }

  for (let i = 0; i < 30; i++) fail()
  expect(lines.map((line) => line.count)).toEqual([1])
  await sleep(450) // the window closed: the 29 since the first, in one line
  expect(lines.map((line) => line.count)).toEqual([1, 29])
  fail()
  fail()
  await sleep(350) // the next window: 2 more
  expect(lines.map((line) => line.count)).toEqual([1, 29, 2])
  await sleep(350) // a window without failures writes nothing, and the next failure is told at once
  expect(lines).toHaveLength(3)
  fail()
  expect(lines.map((line) => line.count)).toEqual([1, 29, 2, 1])
  expect(lines.every((line) => line.reason === 'unknown_token' && line.level === 30)).toBe(true)
})
