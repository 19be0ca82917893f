// The skip-reasons reporter, in a real jest run over fixture tests: each reason printed once with
// its count, and a skip without a reason failing the run.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { skipMarker } from '../helpers/skip.js'

const JEST = fileURLToPath(new URL('../../node_modules/jest/bin/jest.js', import.meta.url))
const REPORTER = fileURLToPath(new URL('../helpers/skip-reasons-reporter.js', import.meta.url))
let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'usersig-skips-'))
  writeFileSync(
    join(dir, 'reasons.test.js'),
    `test.skip(${JSON.stringify(`needs foo ${skipMarker('foo is missing')}`)}, () => {})
describe.skip(${JSON.stringify(`the bar group ${skipMarker('bar is off')}`)}, () => {
  test('one', () => {})
  test('two', () => {})
})
test('runs', () => expect(1).toBe(1))
`,
  )
  writeFileSync(join(dir, 'bare.test.js'), `test.skip('for no stated reason', () => {})\n`)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function jest(...args: string[]) {
  const config = { rootDir: dir, testMatch: ['**/*.test.js'], reporters: ['default', REPORTER] }
  const run = spawnSync(
    process.execPath,
    [JEST, '--config', JSON.stringify(config), '--ci', ...args],
    { cwd: dir, encoding: 'utf8', timeout: 60_000 },
  )
  return { status: run.status, stderr: run.stderr }
}

test('prints each reason once, with how many tests it skipped and where', () => {
  const run = jest('reasons')
  expect(run.stderr).toContain(
    'Skipped, and why:\n  1 in reasons.test.js: foo is missing\n  2 in reasons.test.js: bar is off\n',
  )
  expect(run.status).toBe(0)
}, 60_000)

test('a skip without a reason fails the run and is named', () => {
  const run = jest()
  expect(run.stderr).toContain(
    '1 test(s) skipped without a reason; skip with testIf/describeIf from test/helpers/skip.ts',
  )
  expect(run.stderr).toContain('bare.test.js: for no stated reason')
  expect(run.status).toBe(1)
  // tests left out by -t are not skips of their own
  expect(jest('-t', 'runs').status).toBe(0)
}, 60_000)
