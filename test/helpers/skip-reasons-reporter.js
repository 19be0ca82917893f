// A jest reporter: after the summary, why tests were skipped, once per reason. Reasons are read
// from test and describe names, where test/helpers/skip.ts puts them (`[skipped: <reason>]`).
// A test skipped without a reason fails the run: "N skipped" alone says nothing.
import { relative } from 'node:path'

const MARKER = /\[skipped: (.+)\]$/

export default class SkipReasonsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir
    // `jest -t pattern` skips every test it leaves out, for no reason of the test's own.
    this.filtered = Boolean(globalConfig.testNamePattern)
    this.error = undefined
  }

  onRunComplete(_contexts, results) {
    const reasons = new Map()
    const unexplained = []
    for (const file of results.testResults) {
      const path = relative(this.rootDir, file.testFilePath)
      for (const test of file.testResults) {
        if (test.status !== 'pending' && test.status !== 'skipped') continue
        const reason = [...test.ancestorTitles, test.title]
          .map((name) => MARKER.exec(name)?.[1])
          .find((found) => found !== undefined)
        if (reason === undefined) {
          if (!this.filtered) unexplained.push(`${path}: ${test.fullName}`)
          continue
        }
        const seen = reasons.get(reason) ?? { count: 0, files: new Set() }
        seen.count += 1
        seen.files.add(path)
        reasons.set(reason, seen)
      }
    }
    const lines = [...reasons].map(
      ([reason, { count, files }]) => `  ${count} in ${[...files].join(', ')}: ${reason}`,
    )
    if (lines.length > 0) process.stderr.write(`Skipped, and why:\n${lines.join('\n')}\n`)
    if (unexplained.length > 0) {
      this.error = new Error(
        `${unexplained.length} test(s) skipped without a reason; skip with testIf/describeIf ` +
          `from test/helpers/skip.ts (or remove a test.only):\n  ${unexplained.join('\n  ')}`,
      )
      process.stderr.write(`${this.error.message}\n`)
    }
  }

  getLastError() {
    return this.error
  }
}
