/**
 * The recorded releaseGateWorkflow histories (test/fixtures/histories/releaseGate-*.json,
 * made by test/fixtures/recordGateHistories.ts) replay against the current workflow code:
 * a change to the gate's workflow logic that is not behind patched() fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../../workers/evalWorkers';

const DIR = join(__dirname, '..', '..', 'fixtures', 'histories');
const fixtures = readdirSync(DIR)
  .filter((f) => /^releaseGate-.*\.json$/.test(f))
  .sort();

it('replays the recorded gate histories (children, signals, timers) without nondeterminism', async () => {
  expect(fixtures).toEqual(
    expect.arrayContaining([
      'releaseGate-override.json',
      'releaseGate-pass.json',
      'releaseGate-reused.json',
      'releaseGate-v0-override.json',
      'releaseGate-v0-pass.json',
    ]),
  );
  const histories = fixtures.map((file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
    return { workflowId: file.replace(/\.json$/, ''), history };
  });
  const override = histories.find((h) => h.workflowId === 'releaseGate-override')!.history;
  const types = new Set((override.events ?? []).map((e) => e.eventType));
  const { EventType } = temporal.api.enums.v1;
  // The override history exercises what the pass history does not: signals and timers.
  expect(types).toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  expect(types).toContain(EventType.EVENT_TYPE_TIMER_FIRED);
  const pass = histories.find((h) => h.workflowId === 'releaseGate-pass')!.history;
  expect(
    (pass.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED),
  ).toHaveLength(2);
  // Runs that exist: prepared and decided by one local activity, in one workflow task.
  const reused = histories.find((h) => h.workflowId === 'releaseGate-reused')!.history;
  expect(
    (reused.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
  ).toHaveLength(1);
  const results = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: await bundleWorkflows() }, histories))
    results.push(result);
  expect(results.map((r) => ({ workflowId: r.workflowId, error: r.error?.message }))).toEqual(
    histories.map((h) => ({ workflowId: h.workflowId, error: undefined })),
  );
}, 120_000);
