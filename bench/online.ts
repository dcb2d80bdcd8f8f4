/**
 * Online experiments (issue 15): event ingestion throughput into one API process, assignment
 * latency on the serving path, and the check's read of the aggregates after that many units.
 * Targets: ≥ 20,000 events/s; assignment p95 < 5 ms; the check's read < 200 ms at 1,000,000 units
 * (it reads two aggregate rows whatever the units, so it does not grow with them).
 * Then the statistics' operating figures from seeded simulations through the decision code:
 * false-rollback rate of A/A, and units until a harmful candidate is rolled back (2×, 1.5×).
 *
 *   npm run stack -- up --services-only && npx tsx bench/online.ts [units] [batch] [posters]
 */
import { readArms } from '../domain/experiments/dal';
import type { ExperimentPlan } from '../domain/experiments/decide';
import { startEvalWorld } from '../testkit/evalWorld';
import { passedCheck } from '../testkit/gates';
import { unique } from '../testkit/stack';
import { simulateExperiment } from '../testkit/traffic';

const UNITS = Number(process.argv[2] ?? 200_000);
const BATCH = Number(process.argv[3] ?? 5_000);
const POSTERS = Number(process.argv[4] ?? 4);

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
function percentile(samples: number[], p: number) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

async function serving() {
  const world = await startEvalWorld({ EVALGATE_LOG_LEVEL: 'error' });
  try {
    const { model, check } = await passedCheck(world, {
      rows: { 'easy-ham': 10, 'hard-ham': 10, spam: 10 },
      threshold: 0.2,
    });
    const created = await world.editor.post('/v1/experiments', {
      name: unique('bench'),
      ownerTeam: world.team,
      candidate: model.v('logreg-v1'),
      gateCheckId: check.checkId,
      guardrails: [{ name: 'error_rate', event: 'error', direction: 'lower_is_better', margin: 0.01 }],
      ramp: [{ percent: 50, minSeconds: 86_400, minUnits: 100_000_000 }],
      checkEverySeconds: 60,
    });
    const id = created.body.experimentId as string;
    for (let i = 0; i < 100; i++) {
      if ((await world.editor.get(`/v1/experiments/${id}`)).body.percent === 50) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    // Assignment: sequential requests over one keep-alive connection, after a warm-up.
    for (let i = 0; i < 200; i++) await world.editor.get(`/v1/experiments/${id}/assignment?unit=warm-${i}`);
    const latencies: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const start = process.hrtime.bigint();
      await world.editor.get(`/v1/experiments/${id}/assignment?unit=user-${i}`);
      latencies.push(ms(start));
    }

    // Ingestion: each unit one exposure and one metric event (10% value 1), POSTERS batches in flight.
    const batches: string[] = [];
    for (let from = 0; from < UNITS; from += BATCH / 2) {
      const lines: string[] = [];
      for (let u = from; u < Math.min(UNITS, from + BATCH / 2); u++) {
        lines.push(`{"type":"exposure","unit":"u${u}"}`);
        lines.push(`{"type":"metric","unit":"u${u}","event":"error","value":${u % 10 === 0 ? 1 : 0}}`);
      }
      batches.push(lines.join('\n'));
    }
    let next = 0;
    let events = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: POSTERS }, async () => {
        while (next < batches.length) {
          const body = batches[next++];
          const res = await world.editor.ndjson(`/v1/experiments/${id}/events`, body);
          if (res.status !== 202 || res.body.rejected.length) throw new Error(`events: ${res.status}`);
          events += res.body.counted;
        }
      }),
    );
    const seconds = ms(started) / 1000;

    const reads: number[] = [];
    for (let i = 0; i < 50; i++) {
      const start = process.hrtime.bigint();
      await readArms(world.stack.pool, id, 0, 1);
      reads.push(ms(start));
    }
    const arms = await readArms(world.stack.pool, id, 0, 1);
    const status = (await world.editor.get(`/v1/experiments/${id}`)).body;
    console.log(
      `assignment      p50 ${percentile(latencies, 0.5).toFixed(2)} ms · p95 ${percentile(latencies, 0.95).toFixed(2)} ms (n=3000)`,
    );
    console.log(
      `ingestion       ${events} events in ${seconds.toFixed(1)} s = ${Math.round(events / seconds)} events/s ` +
        `(batch ${BATCH}, ${POSTERS} posters)`,
    );
    console.log(
      `check read      ${arms.control.units + arms.treatment.units} units · p95 ${percentile(reads, 0.95).toFixed(2)} ms (2 rows)`,
    );
    console.log(
      `status          exposures ${JSON.stringify(status.exposures)} · srm p=${status.srm.pValue.toFixed(3)}`,
    );
  } finally {
    await world.close();
  }
}

function statistics() {
  const plan: ExperimentPlan = {
    ramp: [
      { percent: 10, minSeconds: 5, minUnits: 500, maxSeconds: 5 },
      { percent: 50, minSeconds: 10, minUnits: 4000, maxSeconds: 120 },
    ],
    guardrails: [{ name: 'error_rate', event: 'error', direction: 'lower_is_better', margin: 0.03, alpha: 0.05 }],
    srmAlpha: 0.001,
    checkEverySeconds: 1,
    onInconclusive: 'pause',
    tuningUnits: 5000,
  };
  const run = (rate: number, seeds: number, margin = 0.03) =>
    Array.from({ length: seeds }, (_, i) =>
      simulateExperiment(
        { ...plan, guardrails: [{ ...plan.guardrails[0], margin }] },
        { seed: 50_000 + i, rate: { control: 0.05, treatment: rate } },
        {
          experimentId: `bench-${rate}-${i}`,
          unitsPerSecond: 200,
        },
      ),
    );
  const aa = run(0.05, 1000);
  const count = (rs: typeof aa, action: string) => rs.filter((r) => r.action === action).length;
  const srm = aa.filter((r) => r.reason === 'sample_ratio_mismatch').length;
  console.log(
    `A/A (1000 runs) promoted ${count(aa, 'promote')} · rolled back ${count(aa, 'rollback')} ` +
      `(sample ratio ${srm}) · inconclusive ${count(aa, 'inconclusive')}`,
  );
  for (const margin of [0.03, 0.01])
    for (const [label, rate] of [
      ['5% → 20% (4×)', 0.2],
      ['5% → 10% (2×)', 0.1],
      ['5% → 7.5% (1.5×)', 0.075],
    ] as const) {
      const rs = run(rate, 200, margin);
      const rolled = rs.filter((r) => r.action === 'rollback');
      const units = rolled.map((r) => r.units);
      console.log(
        `margin ${margin} ${label.padEnd(18)} rolled back ${rolled.length}/200 · units to rollback ` +
          `p50 ${percentile(units, 0.5) ?? '–'} · p95 ${percentile(units, 0.95) ?? '–'} · promoted ${count(rs, 'promote')}`,
      );
    }
}

async function main() {
  statistics();
  if (process.argv.includes('--stats-only')) return;
  await serving();
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
