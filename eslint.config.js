// ESLint for src/ and test/: typescript-eslint's type-aware recommended rules (floating and misused
// promises, unsafe `any`, awaiting non-promises) and the import boundaries the architecture relies on.
// `npm run lint` runs it together with `prettier --check .` (formatting is Prettier's job, not ESLint's).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Import boundaries. Each is a regex on the import specifier, with the message a reader gets. Flat config
// replaces (does not merge) a rule's options when a later block matches the same file, so every block
// below lists all the boundaries that apply to its files.
const boundary = (regex, message) => ({ regex, message });

const NO_TEST = boundary('(^|/)test/', 'src/ must not import test code: move what both need into src/.');
const NO_CLI = boundary(
  '(^|/)(cli/|runtime/daemon\\.js$)|^\\./daemon\\.js$',
  'Only src/cli/ imports the daemon (src/runtime/daemon.ts) to run it: pass what this module needs in as a ' +
    'parameter instead.',
);
const NO_SINKS = boundary(
  '(^|/)sinks/',
  'Sources, masking and sealing never depend on sinks (objects flow one way): ' +
    'move the shared piece below both (e.g. src/seal/ or src/config/).',
);
const NO_SOURCES = boundary(
  '(^|/)sources/',
  'Sinks never depend on sources (objects flow one way): move the shared piece below both.',
);
const NO_CONFIG = boundary(
  '(^|/)config/',
  'Plugins (sources, sinks) never import src/config/, which composes their schemas: shared helpers live in ' +
    'src/common/.',
);
const MASK_NO_SOURCES = boundary(
  '(^|/)sources/',
  'src/mask/ works on a structural record type (MaskableRecord) and never imports sources/.',
);
// src/common/ holds the leaf helpers plugins share (units, file reading, timers).
const COMMON_LEAF = boundary(
  '^\\.\\./(?!errors\\.js$)',
  'src/common/ imports only src/errors.ts and itself, so every layer can use it.',
);
// The trail core (src/trail/) is the format and its verifier and nothing else: it imports only its own
// files and @noble/*, and uses no Node.js module or global, so it runs unchanged in a browser, Deno or Bun
// (test/unit/trail/browser.test.ts bundles it for the browser and runs it without Node's globals).
const TRAIL_ONLY = boundary(
  '^(?!\\./|@noble/)',
  'src/trail/ imports only its own files (./x.js) and @noble/*: no Node.js module, nothing else of tailseal. ' +
    'Take bytes (Uint8Array) in and give bytes out, let the caller inject platform code (see Gunzip, Sha256).',
);
// The report model and renderers (src/report/) run in the browser verifier page too: the trail core only.
const REPORT_ONLY = boundary(
  '^(?!\\./|\\.\\./trail/)',
  'src/report/ imports only its own files and src/trail/: it is bundled into the browser verifier page.',
);
/** Node.js globals `folder` must not use, since it runs outside Node.js too (a browser, Deno, Bun). */
const nodeGlobals = (folder) =>
  ['Buffer', 'process', 'require', 'setImmediate', 'clearImmediate', '__dirname', '__filename', 'global'].map(
    (name) => ({
      name,
      message:
        `${folder} runs outside Node.js too: no ${name} ` +
        '(use Uint8Array, TextEncoder/TextDecoder, or a function the caller injects).',
    }),
  );
// Seal is the daemon's Node.js side of sealing (hot-path hashing and encoding, gzip): it builds on the trail
// core, src/errors.ts and the shared utilities, never on the layers above it.
const SEAL_LAYER = boundary(
  '(^|/)(sources|sinks|store|config|cli|mask|metrics|runtime)/|(^|/)(daemon|log|lost-state|timer)\\.js$',
  'src/seal/ sits below sources, sinks, store and runtime, and imports only src/trail/, src/errors.ts, ' +
    'src/common/ and itself: pass the value in as a parameter instead.',
);

// Build and test tooling (devDependencies) is not installed where tailseal runs: nothing in src/ imports
// it, except the verifier page's build script, which `npm run build` runs (src/page/build.ts).
const NO_DEV_DEPS = boundary(
  '^(esbuild|playwright-core|typescript|typescript-eslint|eslint|@eslint/.*|prettier)(/|$)',
  'src/ runs without devDependencies installed: only src/page/build.ts (run by `npm run build`) imports one.',
);
// The verifier page's browser code (src/page/app/) is bundled into one HTML file: it imports only its own
// files, the trail core and the pure report model, and no Node.js module or global.
const PAGE_APP = boundary(
  '^(?!\\./|\\.\\./\\.\\./(trail|report)/)',
  'src/page/app/ runs in a browser: it imports only its own files, src/trail/ and src/report/.',
);

const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'var/', 'bench/results/', '.tmp/'] },
  js.configs.recommended,
  {
    // Prettier wraps code at 120 but leaves long strings and comments alone; this catches those. Exempt: regex
    // literals (a split regex is harder to read) and test titles (wrapping one re-indents the whole test).
    rules: {
      'max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true, ignorePattern: '^\\s*(it|describe|test)\\(' },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe() and it() return promises the runner itself awaits; everything else must be
      // awaited, handled, or marked `void` with a comment saying why fire-and-forget is right.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test'] }] },
      ],
      // Off: it flags ~400 `!` after an index or a regex group (`parts[0]!`, `m[1]!`). Without tsc's
      // noUncheckedIndexedAccess these types already exclude undefined, so the `!` are "unnecessary", but
      // they mark where the code relies on the element being there, and they are what turning that flag
      // on would require. They are not bugs; removing them would lose that information.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Off: an `async` method without `await` is how a Sink, Source or store stub keeps its Promise-returning
      // interface and turns a synchronous throw into a rejection; the rule would demand the opposite.
      '@typescript-eslint/require-await': 'off',
      // Passing on a caught value as it is (reject(err) in a catch) is fine; new rejections must be Errors.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // `_`-prefixed names are deliberately unused (tsc's noUnused* already checks the rest).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests take decisions, log lines, configs and manifests apart after JSON.parse or YAML parse, as
    // `any` (about 200 places, e.g. deploy.test.ts walking Kubernetes manifests); typing each document
    // would add nothing a failed assertion does not show. src/ keeps every no-unsafe-* rule.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['src/**/*.ts'], rules: restrict(NO_TEST, NO_CLI, NO_DEV_DEPS) },
  { files: ['src/page/build.ts'], rules: restrict(NO_TEST, NO_CLI) },
  {
    files: ['src/page/app/**/*.ts'],
    rules: {
      ...restrict(NO_TEST, PAGE_APP),
      'no-restricted-globals': ['error', ...nodeGlobals('src/page/app/')],
      // Every text the page shows comes from files an attacker may have written: textContent only, never markup.
      'no-restricted-properties': [
        'error',
        ...['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'write', 'writeln'].map((property) => ({
          property,
          message:
            'the verifier page shows attacker-controlled text: set textContent, build elements with createElement',
        })),
      ],
    },
  },
  { files: ['src/cli/**/*.ts'], rules: restrict(NO_TEST, NO_DEV_DEPS) },
  { files: ['src/common/**/*.ts'], rules: restrict(NO_TEST, COMMON_LEAF, NO_DEV_DEPS) },
  { files: ['src/mask/**/*.ts'], rules: restrict(NO_TEST, NO_CLI, NO_SINKS, MASK_NO_SOURCES, NO_DEV_DEPS) },
  { files: ['src/sources/**/*.ts'], rules: restrict(NO_TEST, NO_CLI, NO_SINKS, NO_CONFIG, NO_DEV_DEPS) },
  { files: ['src/sinks/**/*.ts'], rules: restrict(NO_TEST, NO_CLI, NO_SOURCES, NO_CONFIG, NO_DEV_DEPS) },
  { files: ['src/seal/**/*.ts'], rules: restrict(NO_TEST, SEAL_LAYER, NO_DEV_DEPS) },
  {
    files: ['src/trail/**/*.ts'],
    rules: { ...restrict(NO_TEST, TRAIL_ONLY), 'no-restricted-globals': ['error', ...nodeGlobals('src/trail/')] },
  },
  {
    files: ['src/report/**/*.ts'],
    rules: { ...restrict(NO_TEST, REPORT_ONLY), 'no-restricted-globals': ['error', ...nodeGlobals('src/report/')] },
  },
);
