// jose is ESM-only: prove it loads and works under jest's native ESM mode.
import { SignJWT, jwtVerify } from 'jose'

test('jose signs and verifies an HS256 JWT under jest', async () => {
  const secret = new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!')
  const jwt = await new SignJWT({ scope: 'usersig:issue' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('chat-backend')
    .setExpirationTime('5m')
    .sign(secret)
  const { payload } = await jwtVerify(jwt, secret, { algorithms: ['HS256'] })
  expect(payload).toMatchObject({ sub: 'chat-backend', scope: 'usersig:issue' })
  await expect(
    jwtVerify(jwt, new TextEncoder().encode('another-secret-of-at-least-32-bytes')),
  ).rejects.toThrow('signature verification failed')
})
