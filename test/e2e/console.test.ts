/**
 * The web console in a real browser (Chromium from the OS, driven by playwright-core)
 * against the real stack, on the demo's story: spam-filter data where the candidate
 * regresses the hard-ham slice.
 * - An engineer opens the comparison, sees the regressed slice with its interval, filters
 *   to the regressed examples (the filter survives a reload) and opens one side by side.
 * - An approver approves the requested override and sees the check turn `overridden`.
 * - A viewer of another team gets no restricted rows.
 * Every page is screenshotted under test-output/console/.
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot, signedInPage } from '../../testkit/browser';
import { classificationRows } from '../../testkit/corpus/writeDatasets';
import { registerSuite, startEvalWorld, waitForRun, type EvalWorld } from '../../testkit/evalWorld';
import { createGate, runCheck, spamModel, waitForCheck } from '../../testkit/gates';
import { principal, unique, type ApiClient } from '../../testkit/stack';

let world: EvalWorld;
let browser: Browser;
let model: Awaited<ReturnType<typeof spamModel>>;
let check: any;
let comparison: any;
let candidateRunId: string;
let requester: ApiClient & { apiKey: string };
let approver: ApiClient & { apiKey: string };
let outsider: ApiClient & { apiKey: string };

const fmt = (v: number) => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(4)}`;

beforeAll(async () => {
  [world, browser] = await Promise.all([startEvalWorld(), launchBrowser()]);
  // The demo's data (every held-out email), restricted to the team: rows only for its members.
  const created = await world.editor.post('/v1/datasets', {
    name: unique('console-spam'),
    taskType: 'classification',
    ownerTeam: world.team,
  });
  const datasetId = created.body.datasetId as string;
  const up = await world.editor.ndjson(
    `/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed&visibility=restricted&teams=${world.team}`,
    [...classificationRows({ split: 'heldout' })],
  );
  expect(up.status).toBe(201);
  const suite = await registerSuite(world, 'release_blocking', [
    { name: 'accuracy', metric: 'accuracy' },
    { name: 'f1_spam', metric: 'f1', params: { average: 'binary', positiveLabel: 'spam' } },
  ]);
  model = await spamModel(world);
  const production = await world.editor.post('/v1/eval-runs', {
    modelVersion: model.v('nb-v1'),
    datasetId,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
  });
  expect((await waitForRun(world.editor, production.body.runId)).status).toBe('succeeded');
  const gateId = await createGate(world.editor, {
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [datasetId],
    baselineAlias: 'production',
    rules: [{ metric: 'accuracy', slice: 'hard-ham', kind: 'max_regression', threshold: 0.05 }],
    requiredApprovals: 1,
  });
  check = await runCheck(world.editor, gateId, model.v('nb-small-v1'), {}, 300_000);
  expect(check.status).toBe('fail');
  candidateRunId = check.runs.datasets[0].candidateRunId;
  comparison = (await world.editor.get(`/v1/eval-runs/${candidateRunId}/comparison?baseline=alias:production`)).body;
  expect(comparison.metrics.accuracy.slices['hard-ham'].regressed).toBeGreaterThan(5);
  [requester, approver, outsider] = await Promise.all([
    principal(world.stack, 'ml-engineer', [{ team: world.team, roles: ['editor'] }]),
    principal(world.stack, 'release-manager', [{ team: world.team, roles: ['approver'] }]),
    principal(world.stack, 'other-team-viewer', [{ team: unique('other'), roles: ['viewer'] }]),
  ]);
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await world?.close();
});

describe('the web console', () => {
  let page: Page;
  beforeAll(async () => {
    page = await signedInPage(browser, world.stack.baseUrl, requester.apiKey);
  });
  afterAll(() => page.context().close());

  it('lists the runs, and shows one with its metrics, intervals, cost and lineage', async () => {
    await screenshot(page, 'runs-list');
    // The shell runs under a strict content security policy: the page above rendered under it.
    const shell = await fetch(`${world.stack.baseUrl}/ui/runs`);
    expect(shell.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    await page.getByRole('link', { name: candidateRunId.slice(0, 8) }).click();
    await page.getByRole('heading', { name: `Run ${candidateRunId}` }).waitFor();
    const accuracyRow = page.locator('table.metrics tr', { hasText: 'slice hard-ham' }).first();
    await accuracyRow.waitFor();
    expect(await page.getByText(/Status: succeeded/).count()).toBe(1);
    expect(await page.getByRole('progressbar').getAttribute('value')).toBe('1792');
    await screenshot(page, 'run-detail');
  });

  it('shows the regressed slice with its interval, filters to the regressed examples, and opens one', async () => {
    const started = Date.now();
    await page.goto(`${world.stack.baseUrl}/ui/compare?candidate=${candidateRunId}&baseline=alias:production`);
    const hardHam = comparison.metrics.accuracy.slices['hard-ham'];
    const row = page.locator('table.metrics tbody tr', { hasText: 'slice hard-ham' }).first();
    await row.waitFor();
    const firstScreenMs = Date.now() - started;
    const cells = await row.locator('td').allInnerTexts();
    expect(cells).toEqual(
      expect.arrayContaining([
        fmt(hardHam.delta),
        `[${fmt(hardHam.deltaCiLow)}, ${fmt(hardHam.deltaCiHigh)}]`,
        '▼ worse', // readable without colour
        `▼ ${hardHam.regressed}`,
      ]),
    );
    expect(firstScreenMs).toBeLessThan(10_000);
    await screenshot(page, 'comparison');

    // Sorted by regressions, the accuracy slice with the most regressed examples comes first.
    await page.getByRole('link', { name: 'Sort slices by regressions, most first' }).click();
    await page.waitForURL(/sort=regressions/);
    const slices = Object.entries(comparison.metrics.accuracy.slices as Record<string, { regressed: number }>);
    const worst = slices.sort(([, a], [, b]) => b.regressed - a.regressed)[0][0];
    expect(await page.locator('table.metrics tbody tr').nth(1).innerText()).toContain(`slice ${worst}`);

    // The hard-ham row's regressed count filters the example table to those rows.
    await row.getByRole('link', { name: `▼ ${hardHam.regressed}` }).click();
    await page.waitForURL(/filter=regressed/);
    expect(new URL(page.url()).searchParams.get('slice')).toBe('hard-ham');
    const rows = page.locator('table.examples tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(Math.min(25, hardHam.regressed));
    for (const text of await rows.allInnerTexts()) expect(text).toMatch(/✓ right[\s\S]*✗ wrong/); // baseline right, candidate wrong
    expect(await page.locator('.count[aria-current="true"]').innerText()).toMatch(/Regressed\s+\d+/);

    // Keyboard: focus the first Open button and press Enter.
    const open = rows.first().getByRole('button', { name: 'Open' });
    const exampleId = await open.getAttribute('data-example');
    await open.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Example ${exampleId}` }).waitFor();
    const diff = await page.locator('table.sideBySide tbody tr', { hasText: 'label' }).allInnerTexts();
    expect(diff[0]).toMatch(/≠ differs/);
    expect(await page.locator('#example-detail pre.input').innerText()).toMatch(/\S/);
    await screenshot(page, 'comparison-example');

    // The view's state is in the URL: a reload shows the same filter, slice and open example.
    await page.reload();
    await page.getByRole('heading', { name: `Example ${exampleId}` }).waitFor();
    expect(await page.locator('table.examples tbody tr').count()).toBe(Math.min(25, hardHam.regressed));
  });

  it("shows the gate check's failed rule with its values, and requests an override", async () => {
    await page.goto(`${world.stack.baseUrl}/ui/checks/${check.checkId}`);
    await page.locator('#check-status', { hasText: '✗ fail' }).waitFor();
    const rule = page.locator('table.rules tbody tr', { hasText: 'hard-ham' });
    expect(await rule.innerText()).toMatch(/✗ fail[\s\S]*regressed too far/);
    // An editor may request but not approve: no approve button, and the page says why.
    await page.getByLabel('Justification for an override').fill('hard-ham examples reviewed: newsletters, low risk');
    await page.getByRole('button', { name: 'Request override' }).click();
    await page.locator('#overrides li', { hasText: 'Override requested' }).waitFor();
    expect(await page.getByRole('button', { name: 'Approve override' }).count()).toBe(0);
    expect(await page.locator('#overrides').innerText()).toMatch(/Approving needs the approver role on team/);
    await screenshot(page, 'gate-check-requested');
  });

  it('lets an approver approve, and the check turns overridden', async () => {
    const approverPage = await signedInPage(browser, world.stack.baseUrl, approver.apiKey);
    try {
      await approverPage.goto(`${world.stack.baseUrl}/ui/checks/${check.checkId}`);
      await approverPage.getByRole('button', { name: 'Approve override' }).click();
      await approverPage.locator('#check-status', { hasText: '⚑ overridden' }).waitFor({ timeout: 30_000 });
      await screenshot(approverPage, 'gate-check-overridden');
      expect((await waitForCheck(approver, check.checkId, 5_000, (b) => b.status === 'overridden')).status).toBe(
        'overridden',
      );
    } finally {
      await approverPage.context().close();
    }
  });

  it('shows the lineage graph around the run, each node a link that re-centres it', async () => {
    await page.goto(`${world.stack.baseUrl}/ui/lineage/eval_run/${candidateRunId}`);
    await page.locator('svg.lineage').waitFor();
    expect(await page.locator('svg.lineage g.node').count()).toBeGreaterThan(3);
    expect(await page.locator('svg.lineage g.node.root').count()).toBe(1);
    await screenshot(page, 'lineage');
    await page.locator('svg.lineage a', { hasText: 'dataset version' }).first().click();
    await page.waitForURL(/\/ui\/lineage\/dataset_version\//);
    await page.locator('svg.lineage g.node.root', { hasText: 'dataset version' }).waitFor();
  });

  it('lists incidents', async () => {
    await page.goto(`${world.stack.baseUrl}/ui/incidents`);
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
    await screenshot(page, 'incidents');
  });
});

it('shows a viewer of another team no restricted rows', async () => {
  const page = await signedInPage(browser, world.stack.baseUrl, outsider.apiKey);
  try {
    expect(await page.locator('table.runs tbody tr', { hasText: candidateRunId.slice(0, 8) }).count()).toBe(0);
    await page.goto(
      `${world.stack.baseUrl}/ui/compare?candidate=${candidateRunId}&baseline=alias:production&filter=regressed`,
    );
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toMatch(/not found|was not found/i);
    expect(await page.locator('table.examples tbody tr').count()).toBe(0);
    expect(await page.content()).not.toContain(comparison.candidate.dataset.name);
    await screenshot(page, 'comparison-outsider');
  } finally {
    await page.context().close();
  }
});
