// Jest runs the TypeScript sources as native ESM (jose is ESM-only); ts-jest only transpiles
// (tsconfig's isolatedModules),
// type-checking is `npm run typecheck`.
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
  testTimeout: 30_000,
  // After the summary, why each skipped test was skipped (test/helpers/skip.ts gives the reason).
  reporters: ['default', '<rootDir>/test/helpers/skip-reasons-reporter.js'],
}
