/**
 * Bundles the workflow code once, ahead of time, so workers load a file instead of
 * running webpack at start-up (which costs seconds and hundreds of MB of peak memory):
 *   node dist/workers/bundle.js <out.js>   (npm run build does this)
 * Workers use it when EVALGATE_WORKFLOW_BUNDLE_PATH names it.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error('usage: bundle <out.js>');
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  writeFileSync(out, code);
  process.stdout.write(`wrote workflow bundle ${out} (${(code.length / 1024).toFixed(0)} KB)\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`bundle: ${err.message}\n`);
  process.exit(1);
});
