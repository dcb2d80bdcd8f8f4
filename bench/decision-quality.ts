/**
 * Decision quality of release gates, through the real comparison (createRunComparer) and
 * rule code (evaluateRules): simulated paired runs with a known true delta.
 *
 * Scenario (issue 13): binary accuracy, baseline 0.90, 8% discordant pairs, margin m = 0.02.
 * Prints
 *   1. the decision table: per true delta and n, how often a point gate (max_regression m)
 *      and a 95% non-inferiority gate (margin m) pass, fail (inferiority shown) or are
 *      inconclusive — with the exact probabilities (domain/stats/operatingCharacteristics)
 *      beside the simulated ones;
 *   2. interval coverage of the comparison's 95% and 90% delta intervals at n = 300, 1000,
 *      3000: simulated through the comparer and exact (enumerated over discordant counts);
 *   3. seed stability: verdict flips when only the run ids change (content-derived seeds:
 *      must be 0), with the run-id seeds main used as a contrast — for accuracy (Tango: no
 *      seed at all) and for a bootstrapped metric (binary F1 on `spam`).
 *
 *   npx tsx bench/decision-quality.ts [--sims 400] [--coverage-sims 2000] [--seed-sims 200] [--quick]
 *
 * Deterministic: the simulation PRNG has a fixed seed, so a rerun prints the same figures.
 */
import { parseArgs } from 'node:util';
import { createRunComparer, type ComparedPair, type SuiteMetric } from '../domain/comparison/compareRuns';
import { comparisonSeedOf, runContentKey } from '../domain/evidence/seeds';
import { evaluateRules, type DatasetEvidence, type GateRule, type RuleReason } from '../domain/gates/evaluateRules';
import { normalQuantile } from '../domain/stats/normal';
import { nonInferiorityDecision, operatingPoint } from '../domain/stats/operatingCharacteristics';
import { tangoStatistic } from '../domain/stats/pairedProportions';

const { values: args } = parseArgs({
  options: {
    sims: { type: 'string', default: '400' },
    'coverage-sims': { type: 'string', default: '2000' },
    'seed-sims': { type: 'string', default: '200' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = args.quick === true;
const SIMS = quick ? 40 : Number(args.sims);
const COVERAGE_SIMS = quick ? 200 : Number(args['coverage-sims']);
const SEED_SIMS = quick ? 20 : Number(args['seed-sims']);

const BASELINE = 0.9;
const DISCORDANCE = 0.08;
const MARGIN = 0.02;
const SIZES = [300, 1000, 3000];
const DELTAS = [-2 * MARGIN, -MARGIN, -MARGIN / 2, 0, MARGIN];

/** mulberry32: a small, fixed-seed PRNG for the simulated data (not for anything the product computes). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * n paired examples with true accuracy delta `delta`: per example, (baseline right, candidate
 * right) with probabilities p11 = 0.9 - (psi - delta)/2, p10 = (psi - delta)/2 (regressed),
 * p01 = (psi + delta)/2 (improved), p00 = the rest. A third of the emails are spam.
 */
function simulatePairs(n: number, delta: number, rand: () => number): ComparedPair[] {
  const regressed = (DISCORDANCE - delta) / 2;
  const improved = (DISCORDANCE + delta) / 2;
  const bothRight = BASELINE - regressed;
  const pairs: ComparedPair[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const u = rand();
    const baselineRight = u < bothRight + regressed;
    const candidateRight = u < bothRight || (u >= bothRight + regressed && u < bothRight + regressed + improved);
    const label = rand() < 1 / 3 ? 'spam' : 'ham';
    const other = label === 'spam' ? 'ham' : 'spam';
    const tags = [label];
    const record = (right: boolean) => ({
      id: `ex-${i}`,
      tags,
      label,
      prediction: { label: right ? label : other },
      correct: right,
    });
    pairs[i] = { tags, candidate: record(candidateRight), baseline: record(baselineRight) };
  }
  return pairs;
}

/** The comparison seed main used before this change: from the run ids. */
const runIdSeed = (candidateRunId: string, baselineRunId: string) => `compare:${candidateRunId}:${baselineRunId}`;

const ACCURACY: SuiteMetric[] = [{ name: 'accuracy', metric: 'accuracy', implVersion: '1.0.0' }];
const WITH_F1: SuiteMetric[] = [
  ...ACCURACY,
  { name: 'f1_spam', metric: 'f1', params: { average: 'binary', positiveLabel: 'spam' }, implVersion: '1.1.0' },
];

function compare(pairs: ComparedPair[], metrics: SuiteMetric[], seed: string, confidences: number[] = []) {
  const comparer = createRunComparer({ seed, metrics, confidences });
  for (const pair of pairs) comparer.add(pair);
  return comparer.finish({ paired: pairs.length, candidateOnly: 0, baselineOnly: 0, errored: 0 });
}

/** The gate's evidence as the decide step assembles it (activities/gates/decide.ts), from one comparison. */
function evidenceOf(comparison: ReturnType<typeof compare>): DatasetEvidence {
  const results = (side: 'candidate' | 'baseline') =>
    Object.fromEntries(
      Object.entries(comparison.metrics).map(([name, m]) => [
        name,
        { resultId: `${side}-${name}`, value: m[side], n: m.n },
      ]),
    );
  return {
    candidate: { runId: 'candidate', results: results('candidate') },
    baseline: { runId: 'baseline', results: results('baseline') },
    comparison: comparison.metrics,
  };
}

function decide(rules: GateRule[], comparison: ReturnType<typeof compare>, metrics: SuiteMetric[]): RuleReason[] {
  return evaluateRules({
    rules,
    primaryDatasetId: 'd',
    metricIds: Object.fromEntries(metrics.map((m) => [m.name, m.metric])),
    datasets: { d: evidenceOf(comparison) },
  }).reasons;
}

const pct = (x: number) => `${Math.max(0, 100 * x).toFixed(1)}%`;
const pct2 = (x: number) => `${(100 * x).toFixed(2)}%`;

function decisionTable(): void {
  console.log(
    `\n## 1. Decisions (baseline ${BASELINE}, ${DISCORDANCE * 100}% discordant, m = ${MARGIN}; ` +
      `${SIMS} simulated checks per cell; exact in parentheses)\n`,
  );
  console.log(
    '| true delta | n | point gate: blocked | NI 95%: pass | NI: inconclusive | NI: fail (shown) | NI blocked |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const rules: GateRule[] = [
    { metric: 'accuracy', kind: 'max_regression', threshold: MARGIN },
    { metric: 'accuracy', kind: 'non_inferiority', margin: MARGIN },
  ];
  const niExact = nonInferiorityDecision(MARGIN, 0.95);
  const pointExact = pointGateOnCounts(rules[0]);
  for (const delta of DELTAS) {
    for (const n of SIZES) {
      const rand = prng(1000 * n + Math.round(delta * 1e4) + 7);
      let pointBlocked = 0;
      const ni = { pass: 0, inconclusive: 0, fail: 0 };
      for (let s = 0; s < SIMS; s++) {
        const comparison = compare(simulatePairs(n, delta, rand), ACCURACY, 'bench');
        const [point, nonInf] = decide(rules, comparison, ACCURACY);
        if (point.verdict !== 'pass') pointBlocked++;
        ni[nonInf.outcome ?? 'fail']++;
      }
      const exact = operatingPoint(n, DISCORDANCE, delta, niExact);
      const exactPoint = operatingPoint(n, DISCORDANCE, delta, pointExact);
      console.log(
        [
          `${delta >= 0 ? '+' : ''}${delta.toFixed(3)}`,
          n,
          `${pct(pointBlocked / SIMS)} (${pct(1 - exactPoint.pPass)})`,
          `${pct(ni.pass / SIMS)} (${pct(exact.pPass)})`,
          `${pct(ni.inconclusive / SIMS)} (${pct(exact.pInconclusive)})`,
          `${pct(ni.fail / SIMS)} (${pct(exact.pFail)})`,
          pct((ni.fail + ni.inconclusive) / SIMS),
        ]
          .join(' | ')
          .replace(/^/, '| ')
          .concat(' |'),
      );
    }
  }
}

/** The point gate through evaluateRules on accuracies made of these counts (baseline right on 90% of n). */
function pointGateOnCounts(rule: GateRule): (n: number, improved: number, regressed: number) => 'pass' | 'fail' {
  return (n, improved, regressed) => {
    const baselineRight = Math.round(BASELINE * n);
    const value = (right: number) => ({ resultId: 'r', value: right / n, n });
    const [reason] = evaluateRules({
      rules: [rule],
      primaryDatasetId: 'd',
      metricIds: { accuracy: 'accuracy' },
      datasets: {
        d: {
          candidate: { runId: 'c', results: { accuracy: value(baselineRight - regressed + improved) } },
          baseline: { runId: 'b', results: { accuracy: value(baselineRight) } },
        },
      },
    }).reasons;
    return reason.verdict === 'pass' ? 'pass' : 'fail';
  };
}

function coverageTable(): void {
  console.log(
    `\n## 2. Coverage of the delta interval (Tango score; ${COVERAGE_SIMS} simulated comparisons per cell, ` +
      'pooled over true deltas -m and 0; exact in parentheses, averaged over the same deltas)\n',
  );
  console.log('| n | 95% simulated | 95% exact | 90% simulated | 90% exact |');
  console.log('|---|---|---|---|---|');
  for (const n of SIZES) {
    const covered = { '0.95': 0, '0.9': 0 };
    let total = 0;
    for (const delta of [-MARGIN, 0]) {
      const rand = prng(77 * n + Math.round(delta * 1e4));
      for (let s = 0; s < COVERAGE_SIMS / 2; s++) {
        const accuracy = compare(simulatePairs(n, delta, rand), ACCURACY, 'bench', [0.9]).metrics.accuracy;
        total++;
        if (accuracy.deltaCiLow! <= delta && delta <= accuracy.deltaCiHigh!) covered['0.95']++;
        const [lo90, hi90] = accuracy.intervals!['0.9']!;
        if (lo90 <= delta && delta <= hi90) covered['0.9']++;
      }
    }
    const exact = (level: number) => [-MARGIN, 0].reduce((sum, delta) => sum + exactCoverage(n, delta, level), 0) / 2;
    console.log(
      `| ${n} | ${pct2(covered['0.95'] / total)} | ${pct2(exact(0.95))} | ${pct2(covered['0.9'] / total)} | ${pct2(exact(0.9))} |`,
    );
  }
  console.log('\nExact coverage per true delta (95% / 90%):\n');
  console.log(`| n | ${DELTAS.map((d) => `delta ${d}`).join(' | ')} |`);
  console.log(`|---|${DELTAS.map(() => '---').join('|')}|`);
  for (const n of SIZES)
    console.log(
      `| ${n} | ${DELTAS.map((d) => `${pct2(exactCoverage(n, d, 0.95))} / ${pct2(exactCoverage(n, d, 0.9))}`).join(' | ')} |`,
    );
}

/** P(the `level` interval contains the true delta), enumerated over discordant counts. */
function exactCoverage(n: number, delta: number, level: number): number {
  const z = normalQuantile(1 - (1 - level) / 2);
  return operatingPoint(n, DISCORDANCE, delta, (size, improved, regressed) => {
    const t = tangoStatistic({ n: size, improved, regressed }, delta);
    return t > z ? 'pass' : t < -z ? 'fail' : 'inconclusive';
  }).pInconclusive;
}

function seedStability(): void {
  const n = 1000;
  console.log(
    `\n## 3. Seed stability: verdict flips when only the run ids change (n = ${n}, true delta 0 and -m/2, ${SEED_SIMS} datasets each)\n`,
  );
  const rules: GateRule[] = [
    { metric: 'accuracy', kind: 'non_inferiority', margin: MARGIN },
    { metric: 'f1_spam', kind: 'non_inferiority', margin: 0.03 },
  ];
  const flips = { content: [0, 0], runIds: [0, 0] };
  const lowSpread: number[] = [];
  let checks = 0;
  for (const delta of [0, -MARGIN / 2]) {
    const rand = prng(4242 + Math.round(delta * 1e4));
    for (let s = 0; s < SEED_SIMS; s++) {
      const pairs = simulatePairs(n, delta, rand);
      // Two reruns of the same predictions under new run ids; the content is the same.
      const content = (role: string) =>
        runContentKey({
          datasetContentHash: `dataset-${s}`,
          modelVersion: `spam@${role}`,
          metricSuiteContentHash: 'suite',
          metricImplVersions: { accuracy: '1.0.0', f1_spam: '1.1.0' },
        });
      const verdicts = (seed: string) => {
        const comparison = compare(pairs, WITH_F1, seed);
        return { reasons: decide(rules, comparison, WITH_F1), f1Low: comparison.metrics.f1_spam.deltaCiLow };
      };
      const seedA = comparisonSeedOf(content('candidate'), content('baseline'));
      const a = verdicts(seedA);
      const b = verdicts(comparisonSeedOf(content('candidate'), content('baseline'))); // new run ids, same content
      const legacyA = verdicts(runIdSeed(`run-${s}-1`, `base-${s}-1`));
      const legacyB = verdicts(runIdSeed(`run-${s}-2`, `base-${s}-1`)); // only the candidate rerun
      checks++;
      for (const r of [0, 1]) {
        if (a.reasons[r].outcome !== b.reasons[r].outcome) flips.content[r]++;
        if (legacyA.reasons[r].outcome !== legacyB.reasons[r].outcome) flips.runIds[r]++;
      }
      if (legacyA.f1Low !== null && legacyB.f1Low !== null) lowSpread.push(Math.abs(legacyA.f1Low - legacyB.f1Low));
    }
  }
  console.log('| seed from | accuracy NI flips | f1_spam NI flips (bootstrap) |');
  console.log('|---|---|---|');
  console.log(
    `| content (both runs' content keys) | ${flips.content[0]} of ${checks} | ${flips.content[1]} of ${checks} |`,
  );
  console.log(
    `| run ids (main before this change) | ${flips.runIds[0]} of ${checks} | ${flips.runIds[1]} of ${checks} |`,
  );
  const mean = lowSpread.reduce((a, b) => a + b, 0) / Math.max(1, lowSpread.length);
  console.log(`\nrun-id seeds: mean |change of f1_spam deltaCiLow| between reruns = ${mean.toFixed(5)}`);
}

const started = Date.now();
console.log(`# Decision quality (${quick ? 'quick' : 'full'} run)`);
decisionTable();
coverageTable();
seedStability();
console.log(`\n(${((Date.now() - started) / 1000).toFixed(1)} s)`);
