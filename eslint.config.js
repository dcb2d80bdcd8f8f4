// Lint: no floating promises anywhere; workflow code may not import Node built-ins or
// I/O modules (it must stay deterministic and replayable); test support stays where it
// belongs (see TEST_SUPPORT_RULES below).
const tseslint = require('typescript-eslint');

/**
 * Who may import the top-level folders that are not production code: `testkit/` is the test
 * support that tests, benches and the demo share; `test/` is the tests alone; `bench/` the
 * benches; `examples/` the demo. Production code imports none of them; `testkit/` imports none
 * of the others; benches and the demo take test support from `testkit/`, never from `test/`.
 * A relative import reaches a top-level folder as `../`… followed by its name.
 */
const topDir = (dirs) => `^(?:\\.\\./)+(?:${dirs.join('|')})(?:/|$)`;
const PRODUCTION_DIRS = ['api', 'activities', 'domain', 'workflows', 'workers', 'common', 'schema', 'cli'];
const NOT_FROM_PRODUCTION = {
  regex: topDir(['testkit', 'test', 'bench', 'examples']),
  message: 'production code must not import testkit/, test/, bench/ or examples/',
};
const TEST_SUPPORT_RULES = [
  {
    files: PRODUCTION_DIRS.filter((dir) => dir !== 'workflows').map((dir) => `${dir}/**/*.ts`),
    patterns: [NOT_FROM_PRODUCTION],
  },
  {
    files: ['testkit/**/*.ts'],
    patterns: [
      {
        regex: topDir(['test', 'bench', 'examples']),
        message: 'testkit/ is imported by tests, benches and the demo; it imports none of them',
      },
    ],
  },
  {
    files: ['bench/**/*.ts'],
    patterns: [
      {
        regex: topDir(['test', 'examples']),
        message: 'benches take test support from testkit/, not test/ or examples/',
      },
    ],
  },
  {
    files: ['test/**/*.ts'],
    ignores: ['test/e2e/gateStory.test.ts', 'test/e2e/experimentStory.test.ts'],
    patterns: [
      { regex: topDir(['bench', 'examples']), message: 'tests take test support from testkit/; examples/ is the demo' },
    ],
  },
  {
    // The tests of the demo's stories import the story they test, and nothing else from examples/.
    files: ['test/e2e/gateStory.test.ts', 'test/e2e/experimentStory.test.ts'],
    patterns: [
      {
        regex: '^(?:\\.\\./)+(?:bench(?:/|$)|examples(?:/(?!demo/(?:gateStory|experimentStory)$)|$))',
        message: 'tests take test support from testkit/; examples/ is the demo',
      },
    ],
  },
  {
    files: ['examples/**/*.ts'],
    patterns: [{ regex: topDir(['test', 'bench']), message: 'the demo takes test support from testkit/, not test/' }],
  },
].map(({ files, ignores, patterns }) => ({
  files,
  ...(ignores ? { ignores } : {}),
  rules: { 'no-restricted-imports': ['error', { patterns }] },
}));

// SQL lives in the domain layer's data-access modules (docs/architecture.md): a query call
// whose text starts like SQL anywhere else in production code is an error.
const SQL_START =
  '/^\\s*(SELECT|INSERT|UPDATE|DELETE|WITH|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|SET|LOCK|COPY|TRUNCATE)\\b/i';
const SQL_ONLY_IN_DALS = {
  files: PRODUCTION_DIRS.filter((dir) => dir !== 'schema').map((dir) => `${dir}/**/*.ts`),
  ignores: ['domain/**/dal.ts', 'domain/**/dal/**/*.ts', 'common/db.ts'],
  rules: {
    'no-restricted-syntax': [
      'error',
      ...[
        `CallExpression[callee.property.name='query'][arguments.0.value=${SQL_START}]`,
        `CallExpression[callee.property.name='query'][arguments.0.quasis.0.value.raw=${SQL_START}]`,
      ].map((selector) => ({ selector, message: 'SQL lives in domain/<aggregate>/dal.ts; call a DAL function' })),
    ],
  },
};

const NODE_BUILTINS = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

module.exports = tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.stack/**', 'bench/out/**', 'coverage/**', '**/*.js'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Prettier wraps code at 120; strings, comments and SQL it cannot wrap stay under 140.
      'max-len': ['error', { code: 140, tabWidth: 2 }],
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
    },
  },
  ...TEST_SUPPORT_RULES,
  SQL_ONLY_IN_DALS,
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...NODE_BUILTINS.flatMap((name) => [name, `node:${name}`]).map((name) => ({
              name,
              message: 'workflow code must be deterministic: do I/O in activities',
            })),
            ...[
              'pg',
              'minio',
              'pino',
              'express',
              '@temporalio/client',
              '@temporalio/activity',
              '@temporalio/worker',
            ].map((name) => ({ name, message: 'workflow code must not do I/O: call an activity' })),
          ],
          patterns: [
            {
              // From workflows/ and its subfolders (workflows/shared/).
              group: ['**/activities', '**/activities/*', '**/api/*', '**/common/db', '**/common/storage'],
              allowTypeImports: true,
              message: 'workflows import activities with `import type` only',
            },
            NOT_FROM_PRODUCTION,
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' },
        { name: 'fetch', message: 'do I/O in activities' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message:
            'Date.now() in workflows is only deterministic through Temporal; prefer workflow time APIs explicitly',
        },
        { object: 'Math', property: 'random', message: 'randomness must come from the workflow context' },
      ],
    },
  },
);
