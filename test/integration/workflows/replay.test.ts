/**
 * Every recorded history under test/fixtures/histories/ (`<workflowType>-<case>.json`,
 * written by test/fixtures/recordHistory.ts and recordGateHistories.ts) replays against the
 * current workflow code: a change to workflow logic that is not behind patched() fails here.
 * The histories cover every workflow the workers run, and the cases that exercise what
 * replay must keep reproducing: children, signals, timers, both sides of a patch.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_TYPES } from '../../../common/names';
import { BUDGET_DRAIN_PATCH } from '../../../workflows/evalRun';
import { LOCAL_PREPARE_PATCH } from '../../../workflows/releaseGate';
import { bundleWorkflows } from '../../../workers/evalWorkers';
import { readHistories, recordedWorkflowType } from '../../fixtures/historyFiles';

const { EventType } = temporal.api.enums.v1;
const histories = readHistories();
const named = (name: string): History => {
  const found = histories.find((h) => h.name === name);
  if (!found) throw new Error(`no recorded history ${name}.json`);
  return found.history;
};
const eventsOf = (history: History, type: temporal.api.enums.v1.EventType) =>
  (history.events ?? []).filter((e) => e.eventType === type);
/** The patch ids a history's markers record. */
const patchesIn = (history: History): string[] =>
  eventsOf(history, EventType.EVENT_TYPE_MARKER_RECORDED).flatMap((e) => {
    const payload = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0];
    return payload ? [defaultPayloadConverter.fromPayload<{ id: string }>(payload).id] : [];
  });

describe('recorded workflow histories', () => {
  it('are named after the workflow type they recorded', () => {
    expect(histories.map((h) => [h.name, recordedWorkflowType(h.history)])).toEqual(
      histories.map((h) => [h.name, h.workflowType]),
    );
  });

  it('cover every workflow the workers run', () => {
    expect(new Set(histories.map((h) => h.workflowType))).toEqual(new Set(Object.values(WORKFLOW_TYPES)));
  });

  it('keep both sides of the patches replaying: the budget drain, the gate before and after local prepare', () => {
    const evalTypes: string[] = [WORKFLOW_TYPES.evalRun, WORKFLOW_TYPES.evalShardBlock];
    const evalRuns = histories.filter((h) => evalTypes.includes(h.workflowType));
    expect(evalRuns.length).toBeGreaterThan(0);
    for (const h of evalRuns)
      expect({ name: h.name, patches: patchesIn(h.history) }).toEqual({
        name: h.name,
        patches: expect.arrayContaining([BUDGET_DRAIN_PATCH]),
      });
    // releaseGateWorkflow-v0-* were recorded before the local-prepare patch, the others after it.
    const gate = histories.filter((h) => h.workflowType === WORKFLOW_TYPES.releaseGate);
    expect(gate.map((h) => h.name)).toEqual(
      expect.arrayContaining([
        'releaseGateWorkflow-override',
        'releaseGateWorkflow-pass',
        'releaseGateWorkflow-reused',
        'releaseGateWorkflow-v0-override',
        'releaseGateWorkflow-v0-pass',
      ]),
    );
    for (const h of gate)
      expect({ name: h.name, patches: patchesIn(h.history) }).toEqual({
        name: h.name,
        patches: h.name.startsWith('releaseGateWorkflow-v0-') ? [] : [LOCAL_PREPARE_PATCH],
      });
  });

  it('include a gate check with children, one with signals and timers, and one decided in a single workflow task', () => {
    // The pass history starts both runs as child workflows.
    expect(
      eventsOf(named('releaseGateWorkflow-pass'), EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED),
    ).toHaveLength(2);
    // The override history exercises what the pass history does not: signals and timers.
    const override = named('releaseGateWorkflow-override');
    expect(eventsOf(override, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).length).toBeGreaterThan(0);
    expect(eventsOf(override, EventType.EVENT_TYPE_TIMER_FIRED).length).toBeGreaterThan(0);
    // Runs that exist: prepared and decided by one local activity, in one workflow task.
    expect(eventsOf(named('releaseGateWorkflow-reused'), EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)).toHaveLength(1);
  });

  it('include an online experiment signalled, ramped and promoted, and one that continues as new', () => {
    const promoted = named('onlineExperimentWorkflow-promoted');
    expect(eventsOf(promoted, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)).toHaveLength(2);
    expect(eventsOf(promoted, EventType.EVENT_TYPE_TIMER_FIRED).length).toBeGreaterThan(0);
    expect(eventsOf(promoted, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)).toHaveLength(1);
    const continued = named('onlineExperimentWorkflow-continued');
    expect(eventsOf(continued, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)).toHaveLength(1);
  });

  it('replay against the current workflow code without nondeterminism', async () => {
    const workflowBundle = await bundleWorkflows();
    const results = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle },
      histories.map(({ name, history }) => ({ workflowId: name, history })),
    ))
      results.push({ workflowId: result.workflowId, error: result.error?.message });
    expect(results).toEqual(histories.map((h) => ({ workflowId: h.name, error: undefined })));
  }, 180_000);
});
