// Reads a ticket's JSON with plain node:zlib, independent of the codec under test.
import { inflateSync } from 'node:zlib'

export function inflateTicket(ticket: string): string {
  const b64 = ticket.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=')
  return inflateSync(Buffer.from(b64, 'base64')).toString('utf8')
}
