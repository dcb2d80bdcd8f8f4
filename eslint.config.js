// Lint: no floating promises anywhere; workflow code may not import Node built-ins or
// I/O modules (it must stay deterministic and replayable).
const tseslint = require('typescript-eslint');

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
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
    },
  },
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
