// @ts-check
import eslint from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

const NO_TEST_IMPORTS = {
  group: ['**/test/**'],
  message: 'Production code cannot import tests or test oracles.',
};
const AUDIENCE_LANGUAGE_ENTRY_ONLY = {
  group: ['**/audiences/language/**', '!**/audiences/language/audience-language'],
  message: 'Use the audience language through audiences/language/audience-language.ts.',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'src/generated/**',
      'coverage/**',
      'bench/results/**',
      '**/*.cjs',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      // Imports in one order everywhere (packages, then the project's modules), fixed by `eslint --fix`.
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      // One import statement per module (types included: `import { type A, b }`).
      'no-duplicate-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    // Test oracles and helpers live under test/, outside the production build (tsconfig.build.json's
    // rootDir is src/, so such an import also fails the build). Other modules use the audience
    // language through its public entry only.
    files: ['src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [NO_TEST_IMPORTS, AUDIENCE_LANGUAGE_ENTRY_ONLY] }],
    },
  },
  {
    // Every setting goes through the validated AppConfig (src/config).
    files: ['src/**/*.ts'],
    ignores: ['src/config/**', 'src/generated/**', '**/*.spec.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings from AppConfig (src/config/app-config.ts).' },
      ],
    },
  },
  {
    files: ['src/audiences/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_TEST_IMPORTS] }] },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      // supertest bodies and JSON fixtures are untyped by nature.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
