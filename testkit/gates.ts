/**
 * Helpers for gate tests and bench/gate-checks.ts: datasets drawn per slice from the SpamAssassin held-out split,
 * a model with the four reference classifiers and a production alias, gates, and checks
 * waited on through the long-poll endpoint.
 */
import { classificationRows, type ClassificationRow } from './corpus/writeDatasets';
import type { SpamTag } from './corpus/spamCorpus';
import { registerSpamModel, registerSuite, type EvalWorld } from './evalWorld';
import { unique, type ApiClient } from './stack';

/** The first `n` held-out rows of each tag, in corpus order. */
export function sliceRows(counts: Partial<Record<SpamTag, number>>): ClassificationRow[] {
  return (Object.entries(counts) as [SpamTag, number][]).flatMap(([tag, n]) => [
    ...classificationRows({ tags: [tag], limit: n }),
  ]);
}

export async function uploadDataset(
  world: EvalWorld,
  rows: object[],
  options: { labelPolicy?: string; datasetId?: string } = {},
) {
  const datasetId =
    options.datasetId ??
    (
      await world.editor.post('/v1/datasets', {
        name: unique('gate-ds'),
        taskType: 'classification',
        ownerTeam: world.team,
      })
    ).body.datasetId;
  const up = await world.editor.ndjson(
    `/v1/datasets/${datasetId}/versions?labelPolicy=${options.labelPolicy ?? 'human_reviewed'}`,
    rows,
  );
  if (up.status !== 201) throw new Error(`upload failed: ${up.status} ${JSON.stringify(up.body)}`);
  return { datasetId: datasetId as string, version: up.body.version as number };
}

export const GATE_METRICS = [
  { name: 'accuracy', metric: 'accuracy' },
  { name: 'f1_spam', metric: 'f1', params: { average: 'binary', positiveLabel: 'spam' } },
];

export async function releaseSuite(world: EvalWorld, metrics: unknown[] = GATE_METRICS) {
  return registerSuite(world, 'release_blocking', metrics);
}

/** A model whose versions are the reference classifiers, named after them, with `production` on nb-v1. */
export async function spamModel(world: EvalWorld, production: string | null = 'nb-v1') {
  const model = await registerSpamModel(world, ['nb-v1', 'logreg-v1', 'nb-small-v1', 'keywords-v1']);
  const name = model.versions[0].split('@')[0];
  if (production) await setAlias(world.editor, model.modelId, 'production', `${name}@${production}`);
  return { ...model, name, v: (server: string) => `${name}@${server}` };
}

export async function setAlias(client: ApiClient, modelId: string, alias: string, modelVersion: string) {
  const res = await client.put(`/v1/models/${modelId}/aliases/${alias}`, { modelVersion });
  if (res.status !== 200) throw new Error(`alias failed: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function createGate(client: ApiClient, body: Record<string, unknown>) {
  const res = await client.post('/v1/gates', { name: unique('gate'), ...body });
  if (res.status !== 201) throw new Error(`gate failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.gateId as string;
}

/** Starts a check and long-polls it until it decides. */
export async function runCheck(
  client: ApiClient,
  gateId: string,
  candidate: string,
  extra: Record<string, unknown> = {},
  timeoutMs = 120_000,
) {
  const started = await client.post(`/v1/gates/${gateId}/checks`, { candidateModelVersion: candidate, ...extra });
  if (started.status !== 202 && started.status !== 200)
    throw new Error(`check failed to start: ${started.status} ${JSON.stringify(started.body)}`);
  return waitForCheck(client, started.body.checkId, timeoutMs);
}

/** Polls a check until `until` holds; the default waits for a decision with the long-poll, a custom condition polls plainly. */
export async function waitForCheck(
  client: ApiClient,
  checkId: string,
  timeoutMs = 120_000,
  until?: (b: any) => boolean,
) {
  const deadline = Date.now() + timeoutMs;
  const done = until ?? ((b: any) => b.status !== 'pending');
  for (;;) {
    const res = await client.get(`/v1/gate-checks/${checkId}${until ? '' : '?wait=10'}`);
    if (res.status !== 200) throw new Error(`GET check: ${res.status} ${JSON.stringify(res.body)}`);
    if (done(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`check ${checkId} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const reasonFor = (check: any, rule: string) => check.reasons.find((r: any) => r.rule === rule);
export const codes = (check: any) => check.reasons.map((r: any) => r.code);

export interface SpamGateOptions {
  /** Rows per slice of the gate's dataset (default 20 of each). */
  rows?: Partial<Record<SpamTag, number>>;
  /** The suite's metrics (default GATE_METRICS). */
  metrics?: unknown[];
  rules: unknown[];
  name?: string;
}

/** A gate of the world's team on a fresh held-out dataset, release suite and spam model (production nb-v1). */
export async function spamGate(world: EvalWorld, options: SpamGateOptions) {
  const dataset = await uploadDataset(world, sliceRows(options.rows ?? { 'easy-ham': 20, 'hard-ham': 20, spam: 20 }));
  const suite = await releaseSuite(world, options.metrics);
  const model = await spamModel(world);
  const gateName = options.name ?? unique('gate');
  const gateId = await createGate(world.editor, {
    name: gateName,
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [dataset.datasetId],
    rules: options.rules,
  });
  return { dataset, suite, model, gateId, gateName };
}

/**
 * What an online experiment starts from: logreg-v1 passing a max-regression gate (accuracy,
 * `threshold` default 0.1) against the production nb-v1 of a fresh spam model. Throws when the
 * check does not pass.
 */
export async function passedCheck(
  world: EvalWorld,
  options: { rows?: Partial<Record<SpamTag, number>>; threshold?: number } = {},
) {
  const gate = await spamGate(world, {
    rows: options.rows,
    rules: [{ metric: 'accuracy', kind: 'max_regression', threshold: options.threshold ?? 0.1 }],
  });
  const candidate = gate.model.v('logreg-v1');
  const check = await runCheck(world.editor, gate.gateId, candidate);
  if (check.status !== 'pass') throw new Error(`the candidate's check did not pass: ${JSON.stringify(check)}`);
  return { ...gate, check, candidate };
}

/** Polls an experiment until `done` holds. */
export async function waitForExperiment(
  client: ApiClient,
  experimentId: string,
  done: (experiment: any) => boolean,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const experiment = (await client.get(`/v1/experiments/${experimentId}`)).body;
    if (done(experiment)) return experiment;
    if (Date.now() > deadline) throw new Error(`experiment still ${experiment.status}: ${JSON.stringify(experiment)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
