// `npm run test:stress` runs every test file that scales with USERSIG_STRESS, so that no
// repetition written for it is left out of it (CI runs it; test/helpers/stress.ts).
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ROOT } from '../helpers/build.js'

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return testFiles(path)
    return entry.name.endsWith('.test.ts') ? [relative(ROOT, path)] : []
  })
}

test('the stress run covers every test file that scales with it, and names only real paths', () => {
  const script = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
  ).scripts['test:stress']
  expect(script).toMatch(/^USERSIG_STRESS=1 npm run test:jest -- /)
  const paths = (script ?? '').split(' -- ')[1]?.trim().split(/\s+/) ?? []
  const all = testFiles(join(ROOT, 'test'))
  const covered = (file: string) =>
    paths.some((path) => file === path || file.startsWith(`${path}/`))
  const scaling = all.filter((file) =>
    /from '\.\.\/helpers\/stress\.js'/.test(readFileSync(join(ROOT, file), 'utf8')),
  )
  expect(scaling.length).toBeGreaterThan(3)
  expect(scaling.filter((file) => !covered(file))).toEqual([])
  expect(
    paths.filter((path) => !all.some((file) => file === path || file.startsWith(`${path}/`))),
  ).toEqual([])
})
