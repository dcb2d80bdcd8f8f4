/**
 * `npm run demo`: the main job end to end against the running stack, over the public API.
 *
 *  1. a team, an editor and two approvers (principals with API keys)
 *  2. registration from a file, as users work (`evalgate apply -f examples/demo/evalgate.yaml`):
 *     the SpamAssassin held-out split as a content-addressed, human-reviewed dataset version
 *     with slices easy-ham / hard-ham / spam; a release-blocking metric suite; a spam-filter
 *     model with real versions served by the reference model server (naive Bayes, a 10%-data
 *     naive Bayes, logistic regression) and its production alias; the release gate.
 *     Applied twice: the second time changes nothing.
 *  3. release-mode eval runs of two versions, their metrics with 95% intervals overall and per
 *     slice, cost and cache use — and a rerun answered entirely from the prediction cache
 *  4. the gate story, when the gates feature is present (examples/demo/gateStory.ts)
 *  5. the online experiment of the candidate that passed, promoted on simulated traffic (examples/demo/experimentStory.ts)
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadCliConfig } from '../common/config';
import { apiClient, type Api } from '../testkit/apiClient';
import { runCli } from '../testkit/cli';
import { datasetJsonl } from '../testkit/corpus/writeDatasets';
import { createModelServer, type ModelServer } from '../testkit/modelServer/server';
import { progressBar } from '../cli/progress';
import { printMetrics, section, step } from './demo/print';

const MODEL_SERVER_PORT = 8700; // examples/demo/evalgate.yaml names the model endpoints on it
const TEAM = 'spam-ml';
const DEMO_DIR = join(__dirname, 'demo');
const DEMO_FILE = join(DEMO_DIR, 'evalgate.yaml');
const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');

async function startModelServer(): Promise<{ url: string; close(): Promise<void>; server?: ModelServer }> {
  const url = `http://127.0.0.1:${MODEL_SERVER_PORT}`;
  try {
    const server = await createModelServer({ port: MODEL_SERVER_PORT });
    return { url, server, close: () => server.close() };
  } catch (err) {
    // A reference server from an earlier demo still listening is just as good.
    const alive = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (!alive) throw err;
    return { url, close: async () => undefined };
  }
}

async function ensurePrincipal(
  admin: Api,
  name: string,
  roles: string[],
): Promise<{ api: Api; principalId: string; apiKey: string }> {
  const res = await admin.call('POST', '/v1/principals', {
    name: `${name}-${Date.now().toString(36)}`,
    teams: [{ team: TEAM, roles }],
  });
  if (res.status !== 201) throw new Error(`creating ${name}: ${JSON.stringify(res.body)}`);
  return { api: apiClient(baseUrl, res.body.apiKey), principalId: res.body.principalId, apiKey: res.body.apiKey };
}

/** Waits for a run, its progress a bar on a terminal and plain lines in a captured log (cli/progress.ts). */
async function waitForRun(api: Api, runId: string): Promise<any> {
  const write = (text: string) => process.stdout.write(text);
  const progress = progressBar(
    { log: (l) => write(`${l}\n`), err: (l) => write(`${l}\n`), status: (t) => write(t === '\n' ? t : `\r${t}\x1b[K`) },
    Boolean(process.stdout.isTTY),
    '    running',
    (done, total) => `${done}/${total} examples`,
  );
  for (;;) {
    const run = await api.get(`/v1/eval-runs/${runId}`);
    if (run.progress.total > 0) progress.update(run.progress.done, run.progress.total);
    if (!['queued', 'running'].includes(run.status)) {
      progress.done();
      return run;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function exitWith(message: string): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(2);
}

const cli = loadCliConfig();
const settings = 'error' in cli ? exitWith(cli.error) : cli.config;
const baseUrl = settings.EVALGATE_URL;

async function main() {
  if (!settings.EVALGATE_TOKEN)
    throw new Error('EVALGATE_TOKEN is not set; run the demo with `npm run demo`, which sets it from the stack');
  const admin = apiClient(baseUrl, settings.EVALGATE_TOKEN);
  const modelServer = await startModelServer();
  try {
    section('1. People');
    const editor = await ensurePrincipal(admin, 'demo-editor', ['editor', 'viewer']);
    const approvers = [
      await ensurePrincipal(admin, 'demo-approver-a', ['approver']),
      await ensurePrincipal(admin, 'demo-approver-b', ['approver']),
    ];
    step(`team ${TEAM}: an editor and two approvers, each with an API key (shown once, stored hashed)`);

    section('2. Registration, from a file: evalgate apply -f examples/demo/evalgate.yaml');
    // The rows file the YAML names, written from the corpus (a repository would commit or fetch it).
    mkdirSync(join(DEMO_DIR, 'data'), { recursive: true });
    writeFileSync(
      join(DEMO_DIR, 'data', 'spamassassin-heldout.jsonl'),
      datasetJsonl('classification', { split: 'heldout' }),
    );
    const apply = async (...extra: string[]) => {
      const args = ['apply', '-f', relative(process.cwd(), DEMO_FILE), ...extra];
      const result = await runCli(baseUrl, editor.apiKey, args);
      if (result.exitCode !== 0) throw new Error(`evalgate apply failed (exit ${result.exitCode}): ${result.stderr}`);
      return { command: `$ evalgate ${args.join(' ')}    # as the editor`, stdout: result.stdout };
    };
    for (const title of [
      'the dataset, the metric suite, the model with its versions and alias, and the gate, as the file declares them',
      'applying the same file again changes nothing (dataset versions are content-addressed)',
    ]) {
      const { command, stdout } = await apply();
      step(`${title}\n    ${command}`);
      process.stdout.write(`${indent(stdout)}\n    → exit 0\n`);
    }
    // The ids the rest of the demo uses, as a script would read them.
    const applied = JSON.parse((await apply('--format', 'json')).stdout) as { kind: string; id: string }[];
    const idOf = (kind: string) => applied.find((c) => c.kind === kind)!.id;
    const dataset = { datasetId: idOf('dataset') };
    const suite = { metricSuiteId: idOf('metricSuite') };
    const model = { modelId: idOf('model') };

    const version = (await editor.api.get(`/v1/datasets/${dataset.datasetId}`)).versions.at(-1);
    step(
      `dataset spamassassin-heldout v${version.version}: ${version.rowCount} rows, sha256 ` +
        `${version.contentHash.slice(0, 16)}…, slices ${JSON.stringify(version.tagCounts)}`,
    );
    const suiteVersion = (await editor.api.get(`/v1/metric-suites/${suite.metricSuiteId}`)).versions.at(-1);
    step(
      `suite spam-release v${suiteVersion.version} (release-blocking): ` +
        suiteVersion.metrics.map((m: { name: string; implVersion: string }) => `${m.name}@${m.implVersion}`).join(', '),
    );
    const registered = await editor.api.get(`/v1/models/${model.modelId}`);
    const versions: Record<string, string> = Object.fromEntries(
      registered.versions.map((v: { version: string; modelVersion: string }) => [v.version, v.modelVersion]),
    );
    step(
      `model spam-filter: ${Object.values(versions).join(', ')} (alias production → ${registered.aliases.production})`,
    );

    section('3. Release-mode eval runs');
    const runs: Record<string, any> = {};
    for (const name of ['nb-v1', 'nb-small-v1']) {
      const started = Date.now();
      const { runId } = await editor.api.post('/v1/eval-runs', {
        modelVersion: versions[name],
        datasetId: dataset.datasetId,
        metricSuiteId: suite.metricSuiteId,
        mode: 'release',
      });
      runs[name] = await waitForRun(editor.api, runId);
      step(
        `${versions[name]}: run ${runId} ${runs[name].status} in ${((Date.now() - started) / 1000).toFixed(1)} s — ` +
          `${runs[name].cost.modelCalls} model calls, ${runs[name].cost.cacheHits} cached, $${runs[name].cost.totalUsd.toFixed(4)}`,
      );
      if (runs[name].status !== 'succeeded')
        throw new Error(`run ${runId} ended ${runs[name].status}: ${JSON.stringify(runs[name].error)}`);
    }
    printMetrics(runs['nb-v1'], runs['nb-small-v1'], versions['nb-v1'], versions['nb-small-v1']);
    const rerun = await waitForRun(
      editor.api,
      (
        await editor.api.post('/v1/eval-runs', {
          modelVersion: versions['nb-v1'],
          datasetId: dataset.datasetId,
          metricSuiteId: suite.metricSuiteId,
          mode: 'release',
        })
      ).runId,
    );
    step(
      `rerun of ${versions['nb-v1']}: ${rerun.cost.modelCalls} model calls, ${rerun.cost.cacheHits} answered from the prediction cache; ` +
        `accuracy ${rerun.results.accuracy.value} ` +
        `(same as before: ${rerun.results.accuracy.value === runs['nb-v1'].results.accuracy.value})`,
    );
    step(
      `lineage of run ${rerun.runId}: dataset ${rerun.lineage.dataset.contentHash.slice(0, 12)}…, model ` +
        (`${rerun.lineage.model.modelVersion} (params ${rerun.lineage.model.paramsHash.slice(0, 12)}…), suite ` +
          (`v${rerun.lineage.metricSuite.version}, platform ${rerun.lineage.platformVersion}, bootstrap seed ` +
            `${rerun.lineage.seeds.bootstrap}`)),
    );

    const gateStory = join(__dirname, 'demo', 'gateStory.ts');
    let failedCheckId: string | undefined;
    if (existsSync(gateStory)) {
      section('4. Release gate');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runGateStory } = require(gateStory) as {
        runGateStory(ctx: unknown): Promise<{ checkIds: { pass: string; fail: string } }>;
      };
      const story = await runGateStory({
        baseUrl,
        admin,
        editor,
        approvers,
        team: TEAM,
        datasetId: dataset.datasetId,
        metricSuiteId: suite.metricSuiteId,
        modelId: model.modelId,
        versions,
        modelServerUrl: modelServer.url,
      });
      failedCheckId = story.checkIds.fail;
      section('5. Online experiment');
      const { runExperimentStory } = await import('./demo/experimentStory');
      await runExperimentStory({
        baseUrl,
        admin,
        team: TEAM,
        checkId: story.checkIds.pass,
        candidate: versions['logreg-v1'],
      });
    }
    section('In the web console');
    const ui = (path: string) => `${baseUrl}/ui/${path}`;
    step(`sign in with an API key: the stack's admin key is EVALGATE_TOKEN in \`npm run stack -- env\``);
    step(
      `the comparison: ${versions['nb-small-v1']} against ${versions['nb-v1']}, its regressed hard-ham examples\n      ` +
        ui(
          `compare?candidate=${runs['nb-small-v1'].runId}&baseline=${runs['nb-v1'].runId}&filter=regressed&slice=hard-ham`,
        ),
    );
    if (failedCheckId) step(`the gate check that failed and was overridden\n      ${ui(`checks/${failedCheckId}`)}`);
    step(`every run\n      ${ui('runs')}`);
    section('Done');
    step(`API ${baseUrl} · Temporal UI http://127.0.0.1:8233 · stop everything with: npm run stack -- down`);
  } finally {
    await modelServer.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`\ndemo failed: ${err.message}\n`);
  process.exit(1);
});
