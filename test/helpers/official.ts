// The official npm library `tls-sig-api-v2` (1.0.2) as a test oracle, with its clock pinned.
import { createRequire } from 'node:module'

interface OfficialApi {
  genUserSig(userId: string, expire: number): string
  genPrivateMapKey(userId: string, expire: number, roomId: number, privileges: number): string
  genPrivateMapKeyWithStringRoomID(
    userId: string,
    expire: number,
    strRoomId: string,
    privileges: number,
  ): string
}

// (the package.json lists "main" twice; jest's resolver reads the first, so name the file)
const { Api } = createRequire(import.meta.url)('tls-sig-api-v2/TLSSigAPIv2.js') as {
  Api: new (sdkAppId: number, key: string) => OfficialApi
}

/**
 * Runs the official library at a pinned unix time. It reads `Date.now()` itself and has no clock
 * argument, so the clock is swapped for the duration of the call only.
 */
export function official<T>(
  sdkAppId: number,
  key: string,
  time: number,
  call: (api: OfficialApi) => T,
): T {
  const realNow = Date.now
  Date.now = () => time * 1000
  try {
    return call(new Api(sdkAppId, key))
  } finally {
    Date.now = realNow
  }
}
