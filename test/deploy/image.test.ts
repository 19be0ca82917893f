// The image's steps, replayed without Docker (test/deploy/image.ts): slow (a full `npm ci`), so it
// runs under `npm run test:image`, not `npm test`.
import { readFileSync } from 'node:fs'
import { testIf } from '../helpers/skip.js'
import { replayImage } from './image.js'

const enabled = process.env.USERSIG_TEST_IMAGE === '1'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

testIf(
  enabled,
  'a full npm ci (~15 s, and a build): runs under `npm run test:image` (USERSIG_TEST_IMAGE=1)',
)(
  'the Dockerfile, replayed: production dependencies only; as its USER, with secret files, it is ready, issues a ticket, passes its HEALTHCHECK, writes nothing and exits 0 on SIGTERM',
  async () => {
    const replay = await replayImage({ keep: process.env.USERSIG_KEEP_IMAGE === '1' })
    console.log(
      [
        'image replay:',
        ...replay.steps.map(({ step, ms }) => `  ${String(ms).padStart(6)} ms  ${step}`),
        `  ${replay.runtimePackages.length} packages in the runtime node_modules`,
        `  ${Math.round((replay.rssKiB ?? 0) / 1024)} MiB resident after start-up and one ticket`,
      ].join('\n'),
    )
    for (const name of Object.keys(pkg.dependencies)) expect(replay.runtimePackages).toContain(name)
    for (const name of ['typescript', 'jest', 'ts-jest', 'tsx', 'eslint', '@redocly/cli'])
      expect(replay.runtimePackages).not.toContain(name)
    // As the image's USER where this process can switch to it (root), else as whoever runs this.
    expect(replay.user).toMatch(/^[1-9][0-9]*(:[0-9]+)?$/)
    if (process.getuid?.() === 0) expect(replay.uid).toBe(Number(replay.user?.split(':')[0]))
    expect(replay.readyz).toBe(200)
    expect(replay.ticket).toEqual({ status: 200, valid: true, keyId: 'image' })
    expect(replay.healthcheckExit).toBe(0)
    expect(replay.exitCode).toBe(0)
    expect(replay.written).toEqual([])
    // production mode (from the image's ENV) and a clean log: nothing on stderr
    expect(replay.stdout).toContain('"production":true')
    expect(replay.stderr).toBe('')
  },
  10 * 60_000,
)
