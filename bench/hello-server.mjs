// An Express 5 hello world answering both bench routes with res.json of a fixed object: what
// entering Express at all costs.
import express from 'express'

const body = { userSig: 'x'.repeat(250), sdkAppId: 1400000000, userId: 'alice', expire: 86400 }
const app = express()
app.post('/usersig', (_req, res) => res.json(body))
app.post('/usersig/verify', (_req, res) => res.json(body))
app.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('listening'))
