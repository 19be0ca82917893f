// What the CLI reads from its own package: its version, and the service's default app policy.
import { readFileSync } from 'node:fs'

// Both files ship in the package (package.json always; config/defaults.json through `files`),
// at these paths relative to src/cli/ and dist/cli/ alike. The service reads the same defaults.
function packageJson<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as T
}

const pkg = packageJson<{ name: string; version: string }>('../../package.json')
const defaults = packageJson<{
  app: { defaultExpire: number; privateMapKeyDefaultExpire: number }
}>('../../config/defaults.json')

/** What `usersig --version` prints: the package's name and version. */
export const VERSION = `${pkg.name} ${pkg.version}`

/** sign's default --expire: the service's default for an app that sets none (~2 months). */
export const DEFAULT_USERSIG_EXPIRE = defaults.app.defaultExpire
/** private-map-key's default --expire: the service's default PrivateMapKey expiry (300 s). */
export const DEFAULT_PRIVATE_MAP_KEY_EXPIRE = defaults.app.privateMapKeyDefaultExpire
