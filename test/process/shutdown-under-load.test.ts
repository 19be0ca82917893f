// SIGTERM in the middle of load: every request either succeeds or was never accepted (the
// service has no record of it), and the process exits 0.
import { randomBytes } from 'node:crypto'
import { request, Agent } from 'node:http'
import { startService } from '../helpers/process.js'

const secret = randomBytes(32).toString('hex')
const token = randomBytes(24).toString('base64url')

test('no accepted request is lost when SIGTERM lands under load', async () => {
  const service = await startService({
    NODE_ENV: 'production',
    USERSIG_METRICS_TOKEN: randomBytes(32).toString('base64url'),
    SHUTDOWN_DELAY_MS: '300',
    USERSIG_APPS: JSON.stringify({ '1400000000': { keys: [{ id: 'k1', secret }] } }),
    USERSIG_CLIENTS: JSON.stringify([
      { id: 'c', token, apps: [1400000000], scopes: ['usersig:issue'] },
    ]),
  })
  const agent = new Agent({ keepAlive: true, maxSockets: 20 })
  const outcomes = new Map<string, 'ok' | 'failed' | number>()
  let n = 0
  let sending = true
  const one = () =>
    new Promise<void>((resolve) => {
      const userId = `u${n++}`
      const req = request(
        `${service.url}/usersig`,
        {
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        },
        (res) => {
          res.resume()
          res.on('end', () => {
            outcomes.set(userId, res.statusCode === 200 ? 'ok' : (res.statusCode ?? 0))
            resolve()
          })
          res.on('error', () => {
            outcomes.set(userId, 'failed')
            resolve()
          })
        },
      )
      req.on('error', () => {
        outcomes.set(userId, 'failed')
        resolve()
      })
      req.end(JSON.stringify({ sdkAppId: 1400000000, userId }))
    })
  const workers = Array.from({ length: 20 }, async () => {
    while (sending) await one()
  })
  await new Promise((resolve) => setTimeout(resolve, 800))
  service.child.kill('SIGTERM')
  const exit = await service.exited
  sending = false
  await Promise.all(workers)
  agent.destroy()

  expect(exit).toBe(0)
  const ok = [...outcomes].filter(([, o]) => o === 'ok').map(([id]) => id)
  const failed = [...outcomes].filter(([, o]) => o !== 'ok').map(([id]) => id)
  expect(ok.length).toBeGreaterThan(100)
  // The audit log is the service's record of what it accepted and answered.
  const audited = new Set(
    service.stdout
      .split('\n')
      .filter((line) => line.includes('"audit":"usersig.issued"'))
      .map((line) => (JSON.parse(line) as { userId: string }).userId),
  )
  for (const id of ok) expect(audited.has(id)).toBe(true)
  const lost = failed.filter((id) => audited.has(id))
  expect(lost).toEqual([])
  expect(failed.every((id) => outcomes.get(id) === 'failed')).toBe(true) // never a 5xx
  console.log(
    `shutdown under load: ${ok.length} succeeded, ${failed.length} never accepted, 0 lost`,
  )
}, 60_000)
