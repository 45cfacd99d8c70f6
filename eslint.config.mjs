// `npm run lint`: typescript-eslint with type information (floating and misused promises, unsafe
// `any`, needless assertions...). Formatting is Prettier's job (`npm run format`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeTest = {
  from: 'package',
  package: 'node:test',
  name: ['test', 'describe', 'it', 'before', 'after', 'beforeEach', 'afterEach', 'suite'],
};

export default tseslint.config(
  { ignores: ['dist/', 'native/build/', 'node_modules/', 'test-artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // TypeScript itself reports undefined names (and knows the browser's and Node's globals).
      'no-undef': 'off',
      // Matching escape sequences is this project's job (terminal filters, their tests).
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [nodeTest] }],
    },
  },
  {
    // Tests read JSON reports of the probes and servers they drive (test/helpers/session-probe.mjs,
    // audit lines): their shape is what the assertions check, so `any` is allowed there, not in src/.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  { files: ['**/*.mjs', '**/*.cjs', 'bin/**'], ...tseslint.configs.disableTypeChecked },
);
