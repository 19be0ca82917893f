// A skipped test says why. The reason goes into the skipped test's (or describe's) name as
// `[skipped: <reason>]`, where test/helpers/skip-reasons-reporter.js finds it and prints it once
// in the summary; a test skipped any other way fails the run.

type TestFn = (name: string, fn: jest.ProvidesCallback, timeout?: number) => void
type DescribeFn = (name: string, fn: () => void) => void

/** What the reporter reads back: keep the two in step. */
export function skipMarker(reason: string): string {
  return `[skipped: ${reason}]`
}

/** `test` when `condition` holds; otherwise `test.skip`, with `reason` in the test's name. */
export function testIf(condition: boolean, reason: string): TestFn {
  if (condition) return test
  return (name, fn, timeout) => test.skip(`${name} ${skipMarker(reason)}`, fn, timeout)
}

/** `describe` when `condition` holds; otherwise `describe.skip`, with `reason` in its name. */
export function describeIf(condition: boolean, reason: string): DescribeFn {
  if (condition) return describe
  return (name, fn) => describe.skip(`${name} ${skipMarker(reason)}`, fn)
}

/**
 * Parts a test needs that the project installs (scripts/install-*.sh): where one is missing the
 * test skips and says why, except where USERSIG_TEST_REQUIRE names it (CI: "chromium redis"),
 * where the run fails instead: CI never skips them.
 */
export function describeWithPart(part: string, present: boolean, reason: string): DescribeFn {
  if (present) return describe
  if (!required(part)) return describeIf(false, reason)
  return (name) => describe(name, () => test(`needs ${part}`, missing(part, reason)))
}

/** `test` for one test that needs a part (describeWithPart's rule). */
export function testWithPart(part: string, present: boolean, reason: string): TestFn {
  if (present) return test
  if (!required(part)) return testIf(false, reason)
  return (name) => test(`${name} (needs ${part})`, missing(part, reason))
}

const required = (part: string) =>
  (process.env.USERSIG_TEST_REQUIRE ?? '').split(/[\s,]+/).includes(part)

const missing = (part: string, reason: string) => () => {
  throw new Error(`${part} is required here (USERSIG_TEST_REQUIRE) but missing: ${reason}`)
}
