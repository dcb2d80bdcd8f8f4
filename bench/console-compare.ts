/**
 * Console comparison benchmark (issue 16): how long the comparison page of two
 * 100,000-example runs takes to show its first screen (the metrics table with intervals
 * and the first page of regressed examples) in a real browser. Target: under 2 s.
 *
 * The runs are made the ordinary way, cheaply: 100,000 short spam-corpus emails, the
 * reference model server at latency 0 (nb-v1 as baseline, nb-small-v1 as candidate),
 * release mode. Then, with the OS's Chromium through playwright-core:
 *  - cold: nobody has compared the two runs yet (the API streams both runs' 200,000 stored
 *    records once and caches the comparison);
 *  - warm: the comparison is cached (as after a gate check, or anyone's first visit);
 *  - a filter click (to improved examples) and the next page.
 *
 * npm run stack -- up --services-only && npx tsx bench/console-compare.ts [--rows N]
 *
 * Measured 2026-12-05 (2 cores shared with other work): warm first screen 1119 ms median of 5
 * (slowest 1381 ms; target < 2000 ms: met), of which the API answers the cached comparison in
 * 18 ms and the first page of 25 regressed examples in 174 ms; cold (no comparison yet) 5278 ms;
 * a filter click 1117 ms, the next page 1133 ms. Before parts were fetched ahead: warm 1790 ms, cold 9841 ms.
 */
import { chromium } from 'playwright-core';
import { classificationInput, examplesOf } from '../testkit/corpus/spamCorpus';
import { CHROMIUM_PATH } from '../testkit/browser';
import { build } from './lib/processes';
import { startBenchStack } from './lib/stack';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const ROWS = Number(args.get('rows') ?? 100_000);
const TARGET_MS = 2000;

function datasetJsonl(n: number, salt: string): string {
  const corpus = examplesOf('all');
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const e = corpus[i % corpus.length];
    // Short inputs: the bench measures the console, not the upload.
    lines.push(
      JSON.stringify({
        id: `${salt}-${i}`,
        input: classificationInput(e).slice(0, 400),
        label: e.label,
        tags: [e.tag],
      }),
    );
  }
  return lines.join('\n') + '\n';
}

const line = (label: string, value: string, verdict = '') =>
  process.stdout.write(`  ${label.padEnd(64)}${value.padEnd(14)}${verdict}\n`);

async function main() {
  build();
  const stack = await startBenchStack({
    modelKnobs: { latencyMs: 0 },
    apiEnv: { EVALGATE_ROWS_PER_SHARD: '5000', EVALGATE_SHARD_PARALLELISM: '4' },
    workerEnv: { EVALGATE_MODEL_MAX_CONCURRENCY: '64' },
    apiNodeFlags: ['--max-old-space-size=512'],
    workerNodeFlags: ['--max-old-space-size=768'],
  });
  const { editor, editorKey, team, modelUrl, baseUrl } = stack;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
  try {
    const suite = await editor.post('/v1/metric-suites', {
      name: 'bench',
      purpose: 'release_blocking',
      ownerTeam: team,
    });
    await editor.post(`/v1/metric-suites/${suite.metricSuiteId}/versions`, {
      metrics: [
        { name: 'accuracy', metric: 'accuracy' },
        { name: 'f1_spam', metric: 'f1', params: { average: 'binary', positiveLabel: 'spam' } },
      ],
    });
    const model = await editor.post('/v1/models', { name: `bench-spam-${team}`, ownerTeam: team });
    const version = async (name: string) =>
      (
        await editor.post(`/v1/models/${model.modelId}/versions`, {
          version: name,
          endpoint: { protocol: 'json-predict', url: `${modelUrl}/predict/${name}`, maxConcurrency: 64 },
        })
      ).modelVersion as string;
    const [baselineVersion, candidateVersion] = [await version('nb-v1'), await version('nb-small-v1')];
    const dataset = await editor.post('/v1/datasets', {
      name: 'bench-console',
      taskType: 'classification',
      ownerTeam: team,
    });
    const uploaded = await editor.ndjson(
      `/v1/datasets/${dataset.datasetId}/versions?labelPolicy=human_reviewed`,
      datasetJsonl(ROWS, team),
    );
    process.stdout.write(
      `\nevalgate console comparison benchmark (${new Date().toISOString()}, ${require('node:os').cpus().length} cores)\n` +
        `  ${uploaded.rowCount.toLocaleString()} examples; making both runs...\n`,
    );
    const runOf = async (modelVersion: string) => {
      const { runId } = await editor.post('/v1/eval-runs', {
        modelVersion,
        datasetId: dataset.datasetId,
        metricSuiteId: suite.metricSuiteId,
        mode: 'release',
      });
      for (;;) {
        const run = await editor.get(`/v1/eval-runs/${runId}`);
        if (!['queued', 'running'].includes(run.status)) {
          if (run.status !== 'succeeded') throw new Error(`run ${runId} ended ${run.status}`);
          return runId as string;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    };
    const [baseline, candidate] = await Promise.all([runOf(baselineVersion), runOf(candidateVersion)]);

    const url = `${baseUrl}/ui/compare?candidate=${candidate}&baseline=${baseline}`;
    const firstScreen = async (target: string) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.addInitScript({
        content: `sessionStorage.setItem('evalgate.apiKey', ${JSON.stringify(editorKey)})`,
      });
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(target);
      await page.locator('table.metrics tbody tr').first().waitFor({ timeout: 120_000 });
      await page.locator('table.examples tbody tr, #examples p').first().waitFor({ timeout: 120_000 });
      return { ms: performance.now() - started, page, context };
    };
    process.stdout.write(`\n  first screen of the comparison page (metrics with intervals + first page of examples)\n`);
    const cold = await firstScreen(url);
    const regressed = await cold.page.locator('.count.regressed b').innerText();
    await cold.context.close();
    line('cold: nobody compared the two runs before', `${cold.ms.toFixed(0)} ms`);
    const warmRuns: number[] = [];
    let last: Awaited<ReturnType<typeof firstScreen>> | undefined;
    for (let i = 0; i < 5; i++) {
      await last?.context.close();
      last = await firstScreen(url);
      warmRuns.push(last.ms);
    }
    warmRuns.sort((a, b) => a - b);
    const median = warmRuns[2];
    line(
      'warm (comparison cached), median of 5',
      `${median.toFixed(0)} ms`,
      median < TARGET_MS ? `target < ${TARGET_MS} ms: met` : `target < ${TARGET_MS} ms: MISSED`,
    );
    line('warm, slowest of 5', `${warmRuns[4].toFixed(0)} ms`);
    // The two requests the first screen waits for, timed alone (median of 5).
    const timed = async (path: string) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${editorKey}` } });
        if (!res.ok) throw new Error(`${path}: ${res.status}`);
        await res.arrayBuffer();
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[2];
    };
    const base = `/v1/eval-runs/${candidate}/comparison?baseline=${baseline}`;
    line('  API: GET …/comparison (cached), median of 5', `${(await timed(base)).toFixed(0)} ms`);
    const examplesPath = `/v1/eval-runs/${candidate}/comparison/examples?baseline=${baseline}&change=regressed&limit=25`;
    line('  API: GET …/comparison/examples, first page of 25, median', `${(await timed(examplesPath)).toFixed(0)} ms`);
    const page = last!.page;
    let started = performance.now();
    await page.locator('.count.improved').click();
    await page.waitForURL(/filter=improved/);
    await page.locator('table.examples tbody tr, #examples p').first().waitFor();
    line('filter to improved examples (a click)', `${(performance.now() - started).toFixed(0)} ms`);
    started = performance.now();
    const next = page.getByRole('link', { name: 'Next page →' });
    if (await next.count()) {
      await next.click();
      await page.waitForURL(/cursor=/);
      await page.locator('table.examples tbody tr').first().waitFor();
      line('next page of improved examples', `${(performance.now() - started).toFixed(0)} ms`);
    }
    line('regressed examples (candidate nb-small-v1 vs nb-v1)', regressed);
    await last!.context.close();
  } finally {
    await browser.close();
    await stack.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
