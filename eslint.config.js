// @ts-check
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', '.test-build/', 'src/db/migrations/', 'bin/', 'scripts/*.mjs'] },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Fastify hooks and plugins are async by contract even when a body has nothing to await.
      '@typescript-eslint/require-await': 'off',
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }],
      }],
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['drizzle-orm', 'drizzle-orm/*'], message: 'Only *.repo.ts files and src/db may import Drizzle.' }],
      }],
      // A feature is entered only through its index.ts; its other files are private to it.
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ group: ['**/modules/*/*', '!**/modules/*/index.js'], message: 'Another module is reached only through its index.ts.' }],
      }],
    },
  },
  {
    // Inside src/modules, a sibling module is "../<name>/…": only its index.ts.
    files: ['src/modules/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ group: ['../[a-z]*/**', '!../[a-z]*/index.js', '**/modules/*/*', '!**/modules/*/index.js'], message: 'Another module is reached only through its index.ts.' }],
      }],
    },
  },
  {
    files: ['src/**/*.repo.ts', 'src/db/**', 'drizzle.config.ts', 'test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['eslint.config.js', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // The few progressive scripts the pages load: plain browser JavaScript, no build step.
    files: ['src/public/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'script', globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', Element: 'readonly' } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
)
