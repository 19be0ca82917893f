// The stress switch. `npm test` runs every behaviour once or twice, so that it is proven on every
// change in a few minutes; `npm run test:stress` (USERSIG_STRESS=1, which CI also runs) repeats
// the heavy ones many times and runs the long ones for long, so that a pass is not luck.
import { testIf } from './skip.js'

/** USERSIG_STRESS=1: `npm run test:stress`. */
export const STRESS = process.env.USERSIG_STRESS === '1'

/** `stress` under `npm run test:stress`, else `quick` (what `npm test` runs). */
export function scaled<T>(quick: T, stress: T): T {
  return STRESS ? stress : quick
}

/** `test` under `npm run test:stress`, a test skipped with its reason otherwise. */
export const stressOnly = testIf(
  STRESS,
  'a repetition of a behaviour `npm test` proves once: runs under `npm run test:stress`',
)
