// A loopback identity provider for the JWT tests: a real JWKS endpoint on 127.0.0.1 that serves
// its keys, fails (500), hangs (never answers) or recovers on command; keys and tokens by jose.
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { APP_A } from './http.js'

export const ISSUER = 'https://idp.test/'
export const AUDIENCE = 'usersig-service'

/** The environment for JWT callers verified against `url`. */
export const jwksEnv = (url: string, extra: Record<string, string> = {}) => ({
  USERSIG_JWT_ISSUER: ISSUER,
  USERSIG_JWT_AUDIENCE: AUDIENCE,
  USERSIG_JWKS_URL: url,
  ...extra,
})

/**
 * serve: 200 with the keys; fail: 500; hang: keeps the request open and never answers;
 * not-jwks: 200 with JSON that is not a key set; oversized: 200 with a 1 MiB key set, chunked
 * (no Content-Length, so only a limit on the read itself stops it).
 */
export type IdpMode = 'serve' | 'fail' | 'hang' | 'not-jwks' | 'oversized'

export interface Idp {
  readonly url: string
  keys: JWK[]
  mode: IdpMode
  /** JWKS requests received, whatever was answered. */
  readonly hits: number
  /** Requests received and neither answered nor closed by the client (hangs in progress). */
  readonly open: number
  close(): void
}

export async function startIdp(keys: JWK[]): Promise<Idp> {
  let hits = 0
  const open = new Set<ServerResponse>()
  const server = createServer((_req, res) => {
    hits += 1
    if (idp.mode === 'hang') {
      open.add(res)
      res.on('close', () => open.delete(res))
      return
    }
    if (idp.mode === 'fail') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream down')
      return
    }
    res.setHeader('content-type', 'application/json')
    if (idp.mode === 'not-jwks') res.end(JSON.stringify({ keys: 'none' }))
    else if (idp.mode === 'serve') res.end(JSON.stringify({ keys: idp.keys }))
    else {
      res.write(`{"keys":${JSON.stringify(idp.keys)},"pad":"`)
      for (let i = 0; i < 16; i++) res.write('x'.repeat(2 ** 16))
      res.end('"}')
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const idp: Idp = {
    url: `http://127.0.0.1:${port}/jwks.json`,
    keys,
    mode: 'serve',
    get hits() {
      return hits
    },
    get open() {
      return open.size
    },
    close() {
      server.close()
      server.closeAllConnections()
    },
  }
  return idp
}

/** A signing key pair and its public JWK as an IdP publishes it. */
export async function keyPair(kid: string, alg = 'RS256') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { privateKey, publicKey, jwk }
}

export const unixNow = () => Math.floor(Date.now() / 1000)

/** A caller's JWT; each registered claim can be overridden, or left out with null. */
export async function signJwt(
  key: CryptoKey | Uint8Array,
  header: { alg: string; kid?: string },
  claims: Record<string, unknown> = {},
  {
    iss = ISSUER,
    aud = AUDIENCE,
    sub = 'chat-backend',
    exp = unixNow() + 300,
    nbf,
    iat = unixNow(),
  }: Record<string, unknown> = {},
): Promise<string> {
  const jwt = new SignJWT({
    scope: 'usersig:issue usersig:verify',
    sdkappids: [APP_A],
    ...claims,
  }).setProtectedHeader(header)
  if (iss !== null) jwt.setIssuer(iss as string)
  if (aud !== null) jwt.setAudience(aud as string)
  if (sub !== null) jwt.setSubject(sub as string)
  if (exp !== null) jwt.setExpirationTime(exp as number)
  if (nbf !== undefined) jwt.setNotBefore(nbf as number)
  if (iat !== null) jwt.setIssuedAt(iat as number)
  return jwt.sign(key)
}
