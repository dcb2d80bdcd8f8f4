/**
 * Every recorded history under test/fixtures/histories replays against the current
 * workflow code. A change to workflow logic that is not behind patched() fails here.
 * The file name's prefix up to the first '-' is the workflow type.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../../workers/evalWorkers';

const DIR = join(__dirname, '..', '..', 'fixtures', 'histories');
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

it('has a recorded history for each workflow the workers run', () => {
  const recorded = new Set(fixtures.map((f) => f.split('-')[0]));
  for (const workflow of ['evalRunWorkflow', 'evalShardBlockWorkflow']) expect(recorded).toContain(workflow);
});

it('replays every recorded history without nondeterminism', async () => {
  const workflowBundle = await bundleWorkflows();
  const histories = fixtures.map((file) => ({
    workflowId: file.replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8'))),
  }));
  const results = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) results.push(result);
  expect(results).toHaveLength(fixtures.length);
  for (const result of results)
    expect({ workflowId: result.workflowId, error: result.error?.message }).toEqual({
      workflowId: result.workflowId,
      error: undefined,
    });
}, 120_000);
