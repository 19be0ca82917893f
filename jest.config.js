// Jest runs the TypeScript sources as native ESM (jose is ESM-only); ts-jest only transpiles
// (tsconfig's isolatedModules), type-checking is `npm run typecheck`.
//
// Test files run in parallel, one worker per core and one more: most process tests spend their time
// waiting on a child process or a socket, not on Jest's own CPU. Each file is independent (its own
// ports, folders and processes), and the processes they start run the one build of the sources
// that the global set-up makes (test/helpers/build.ts).
import { availableParallelism } from 'node:os'

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true }],
  },
  globalSetup: '<rootDir>/test/helpers/build.ts',
  maxWorkers: availableParallelism() + 1,
  testTimeout: 30_000,
  // After the summary, why each skipped test was skipped (test/helpers/skip.ts gives the reason).
  reporters: ['default', '<rootDir>/test/helpers/skip-reasons-reporter.js'],
}
