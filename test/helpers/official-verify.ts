// Tencent's verification rules as the official Go and PHP verifiers apply them, written from the
// format description (../shared/usersig-format.md), independently of src/: inflate, parse,
// check identifier, sdkappid, expiry, then recompute the HMAC over the decoded fields.
import { createHmac } from 'node:crypto'
import { inflateSync } from 'node:zlib'

export function officialVerify(
  ticket: string,
  key: string,
  sdkAppId: number,
  userId: string,
  now: number,
): 'ok' | 'identifier' | 'sdkappid' | 'expired' | 'signature' {
  const b64 = ticket.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=')
  const doc = JSON.parse(inflateSync(Buffer.from(b64, 'base64')).toString('utf8'))
  if (doc['TLS.identifier'] !== userId) return 'identifier'
  if (doc['TLS.sdkappid'] !== sdkAppId) return 'sdkappid'
  if (now > doc['TLS.time'] + doc['TLS.expire']) return 'expired'
  let text =
    `TLS.identifier:${doc['TLS.identifier']}\nTLS.sdkappid:${doc['TLS.sdkappid']}\n` +
    `TLS.time:${doc['TLS.time']}\nTLS.expire:${doc['TLS.expire']}\n`
  if (doc['TLS.userbuf'] !== undefined) text += `TLS.userbuf:${doc['TLS.userbuf']}\n`
  const sig = createHmac('sha256', key).update(text).digest('base64')
  return sig === doc['TLS.sig'] ? 'ok' : 'signature'
}
