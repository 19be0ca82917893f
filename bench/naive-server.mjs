// The baseline: the service a user would write today. Express 5, express.json(), the official
// tls-sig-api-v2 library, a straightforward verify; no auth, no validation, no logging.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createRequire } from 'node:module'
import { inflateSync } from 'node:zlib'
import express from 'express'

const { Api } = createRequire(import.meta.url)('tls-sig-api-v2/TLSSigAPIv2.js')
const SDKAPPID = Number(process.env.BENCH_SDKAPPID)
const KEY = process.env.BENCH_KEY
const api = new Api(SDKAPPID, KEY)

const app = express()
app.use(express.json())
app.post('/usersig', (req, res) => {
  res.json({ userSig: api.genUserSig(req.body.userId, req.body.expire ?? 86400) })
})
app.post('/usersig/verify', (req, res) => {
  const { userId, userSig } = req.body
  const doc = JSON.parse(
    inflateSync(
      Buffer.from(userSig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '='), 'base64'),
    ).toString(),
  )
  const text =
    `TLS.identifier:${doc['TLS.identifier']}\nTLS.sdkappid:${doc['TLS.sdkappid']}\n` +
    `TLS.time:${doc['TLS.time']}\nTLS.expire:${doc['TLS.expire']}\n`
  const expected = createHmac('sha256', KEY).update(text).digest()
  const actual = Buffer.from(doc['TLS.sig'], 'base64')
  const valid =
    doc['TLS.identifier'] === userId &&
    doc['TLS.sdkappid'] === SDKAPPID &&
    Date.now() / 1000 <= doc['TLS.time'] + doc['TLS.expire'] &&
    actual.length === expected.length &&
    timingSafeEqual(actual, expected)
  res.json({ valid })
})
app.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('listening'))
