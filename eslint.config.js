// One linter config: typescript-eslint strict, plus the layering rules that keep the codec pure.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The debug page's script runs in the browser.
    files: ['public/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    // The ticket codec is pure: no framework, no environment, no clock, no logging.
    files: ['src/usersig/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['express', 'express/*', 'pino', 'envalid', '../*'] },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Pass `now` in as an argument.' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'The codec takes everything as arguments.' },
        { name: 'console', message: 'The codec does not log.' },
      ],
    },
  },
)
