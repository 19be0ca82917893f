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
