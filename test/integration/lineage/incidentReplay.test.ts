/**
 * The incident workflows' recorded histories (test/fixtures/histories/<workflowType>-*.json,
 * recorded with test/fixtures/recordHistory.ts from real incidents) replay against the
 * current workflow code: a change to their logic that is not behind patched() fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../../workers/evalWorkers';

const DIR = join(__dirname, '..', '..', 'fixtures', 'histories');
const INCIDENT_WORKFLOWS = [
  'metricRecomputeWorkflow',
  'recomputeRunWorkflow',
  'datasetDeprecationWorkflow',
  'judgeIncidentWorkflow',
  'rejudgeRunWorkflow',
];
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.json') && INCIDENT_WORKFLOWS.includes(f.split('-')[0]))
  .sort();

it('has a recorded history for every incident workflow', () => {
  expect(new Set(fixtures.map((f) => f.split('-')[0]))).toEqual(new Set(INCIDENT_WORKFLOWS));
});

it('replays every incident history without nondeterminism', async () => {
  const workflowBundle = await bundleWorkflows();
  const histories = fixtures.map((file) => ({
    workflowId: file.replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8'))),
  }));
  const results = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle }, histories))
    results.push({ workflowId: result.workflowId, error: result.error?.message });
  expect(results).toEqual(fixtures.map((f) => ({ workflowId: f.replace(/\.json$/, ''), error: undefined })));
}, 120_000);
