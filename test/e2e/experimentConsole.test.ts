/**
 * The console's experiment page in a real browser against the real stack: a passed gate
 * check starts an online experiment, simulated traffic (testkit/traffic.ts) makes the
 * candidate's error rate 5% → 20%, the workflow rolls it back, and the page — reached from
 * the gate check's link — shows the decision, exposures, sample-ratio check and the guardrail's
 * interval with its verdict in words as well as colour. Screenshot: test-output/console/experiment.png.
 */
import type { Browser } from 'playwright-core';
import { launchBrowser, screenshot, signedInPage } from '../../testkit/browser';
import { startEvalWorld, type EvalWorld } from '../../testkit/evalWorld';
import { passedCheck } from '../../testkit/gates';
import { principal, unique } from '../../testkit/stack';
import { driveTraffic } from '../../testkit/traffic';

let world: EvalWorld;
let browser: Browser;

const fmt = (v: number) => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(4)}`;

beforeAll(async () => {
  [world, browser] = await Promise.all([startEvalWorld(), launchBrowser()]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await world?.close();
});

it('shows a rolled-back experiment: decision, exposures, SRM and the failed guardrail with its interval', async () => {
  const { model, check } = await passedCheck(world);
  const name = unique('console-exp');
  const created = await world.editor.post('/v1/experiments', {
    name,
    ownerTeam: world.team,
    candidate: model.v('logreg-v1'),
    gateCheckId: check.checkId,
    guardrails: [{ name: 'error_rate', event: 'error', direction: 'lower_is_better', margin: 0.05 }],
    ramp: [{ percent: 50, minSeconds: 600, minUnits: 1_000_000 }],
    checkEverySeconds: 1,
  });
  expect(created.status).toBe(201);
  const experimentId = created.body.experimentId as string;
  const run = await driveTraffic(
    world.editor,
    { seed: 11, rate: { control: 0.05, treatment: 0.2 } },
    { experimentId, unitsPerRound: 100, roundMs: 20, timeoutMs: 60_000 },
  );
  expect(run.status).toMatchObject({ status: 'rolled_back', decision: { reason: 'guardrail_harm' } });
  const g = run.status.guardrails[0];
  expect(g.verdict).toBe('fail');

  const viewer = await principal(world.stack, 'viewer', [{ team: world.team, roles: ['viewer'] }]);
  const page = await signedInPage(browser, world.stack.baseUrl, viewer.apiKey);
  try {
    // From the gate check, one click to the experiment it started.
    await page.goto(`${world.stack.baseUrl}/ui/checks/${check.checkId}`);
    await page
      .locator('#experiments')
      .getByRole('link', { name: `Experiment ${name}` })
      .click();
    await page.waitForURL(new RegExp(`/ui/experiments/${experimentId}$`));
    await page.locator('#experiment-status', { hasText: '↩ rolled back' }).waitFor();
    expect(await page.locator('#experiment-ramp').innerText()).toMatch(/step 1 of 1: 0% of units in treatment/);
    expect(await page.locator('#decision').innerText()).toMatch(/reason guardrail_harm/);

    const exposures = await page.locator('table.exposures tbody tr td').allInnerTexts();
    expect(exposures.slice(0, 2)).toEqual([
      String(run.status.exposures.control),
      String(run.status.exposures.treatment),
    ]);
    expect(exposures[3]).toBe('✓ ok');

    const row = await page
      .locator('table.guardrails tbody tr', { hasText: 'error_rate' })
      .locator('td')
      .allInnerTexts();
    expect(row).toEqual(
      expect.arrayContaining([
        '↓ lower is better',
        fmt(g.delta),
        `[${fmt(g.ciLow)}, ${fmt(g.ciHigh)}]`,
        '✗ fail', // readable without colour
      ]),
    );
    expect(g.ciLow).toBeGreaterThan(0.05); // harm beyond the margin, far from it with a 15-point true effect
    const history = await page.locator('table.history tbody tr').allInnerTexts();
    expect(history.map((r) => r.split('\t')[1])).toEqual(run.status.history.map((h: any) => h.event));
    expect(history.at(-1)).toMatch(/rolled_back[\s\S]*guardrail_harm/);
    await screenshot(page, 'experiment');
  } finally {
    await page.context().close();
  }
}, 300_000);
