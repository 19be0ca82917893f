// The pinned compatibility vectors (test/vectors/tls-sig-api-v2.json), typed.
import { readFileSync } from 'node:fs'

export const VECTORS = JSON.parse(
  readFileSync(new URL('../vectors/tls-sig-api-v2.json', import.meta.url), 'utf8'),
) as {
  key: string
  sdkAppId: number
  userId: string
  time: number
  expire: number
  userSig: { signContent: string; sig: string; tickets: { node: string; python: string } }
  privateMapKey: {
    roomId: {
      roomId: number
      privileges: number
      userBufHex: string
      userBuf: string
      sig: string
      ticket: string
    }
    strRoomId: {
      strRoomId: string
      privileges: number
      userBufHex: string
      userBuf: string
      sig: string
      ticket: string
    }
  }
}

/** Inflates a ticket with node:zlib directly, independent of src/, to look at its JSON. */
export { inflateTicket } from './inflate.js'
