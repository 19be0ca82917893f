// The ceiling: bare node:http, this codec (dist/usersig), a token hash compare, JSON in and out,
// and nothing else: no routing, no validation, no limits, no headers, no logs, no metrics. What
// the service could reach if the front door cost nothing; `ceilingRatio` is service / this.
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import { createUserSigKey, signUserSig, verifyUserSig } from '../dist/usersig/index.js'

const SDKAPPID = Number(process.env.BENCH_SDKAPPID)
const key = createUserSigKey('bench', process.env.BENCH_KEY)
const tokenSha256 = createHash('sha256').update(process.env.BENCH_TOKEN).digest()

function answer(req, body) {
  const now = Math.floor(Date.now() / 1000)
  if (req.url === '/usersig/verify') {
    return verifyUserSig(body.userSig, [key], { sdkAppId: SDKAPPID, userId: body.userId, now })
  }
  const expire = body.expire ?? 86400
  const userSig = signUserSig({ sdkAppId: SDKAPPID, userId: body.userId, expire, now }, key)
  return {
    userSig,
    sdkAppId: SDKAPPID,
    userId: body.userId,
    expire,
    issuedAt: now,
    expiresAt: now + expire,
    keyId: key.id,
  }
}

createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const presented = createHash('sha256')
      .update((req.headers.authorization ?? '').slice(7))
      .digest()
    if (!timingSafeEqual(presented, tokenSha256)) {
      res.writeHead(401).end()
      return
    }
    const text = JSON.stringify(answer(req, JSON.parse(Buffer.concat(chunks).toString('utf8'))))
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    })
    res.end(text)
  })
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('listening'))
// A clean exit on SIGINT, so a --cpu-prof run writes its profile.
process.on('SIGINT', () => process.exit(0))
