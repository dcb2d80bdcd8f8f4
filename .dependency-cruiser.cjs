/**
 * The layering, as a check that fails `npm test` (see docs/architecture.md):
 *   api/ -> domain/, common/          activities/ -> domain/, common/
 *   domain/ -> common/ only           common/ -> nothing of ours
 *   workflows/ -> activities/ and domain/ with `import type` only (Temporal bundles them)
 *   no import cycles anywhere in the production tree.
 */
const PRODUCTION = '^(api|activities|domain|workflows|workers|common|schema|cli)/';

module.exports = {
  forbidden: [
    {
      name: 'api-not-to-activities',
      comment: 'api/ calls the domain layer; activities are what workers run',
      severity: 'error',
      from: { path: '^api/' },
      to: { path: '^activities/' },
    },
    {
      name: 'activities-not-to-api',
      severity: 'error',
      from: { path: '^activities/' },
      to: { path: '^(api|workers|cli)/' },
    },
    {
      name: 'domain-only-to-common',
      comment: 'the domain layer owns the rules and the SQL; it knows nothing of HTTP, Temporal workers or activities',
      severity: 'error',
      from: { path: '^domain/' },
      to: { path: '^(api|activities|workflows|workers|cli|schema|examples|testkit|test|bench)/' },
    },
    {
      name: 'common-is-a-leaf',
      severity: 'error',
      from: { path: '^common/' },
      to: { path: '^(api|activities|domain|workflows|workers|cli|schema|examples|testkit|test|bench)/' },
    },
    {
      name: 'workflows-type-only',
      comment: 'workflow code is bundled for the deterministic sandbox: activities and domain by type only',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^(activities|domain|api|workers|cli)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'production-not-to-test-support',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { path: '^(testkit|test|bench|examples)/' },
    },
    {
      name: 'no-circular',
      comment: 'a cycle means two modules are one module: merge them or move the shared part down a layer',
      severity: 'error',
      from: { path: PRODUCTION },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|web/node_modules)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
