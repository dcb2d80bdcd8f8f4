/**
 * GET /v1/eval-runs/{runId}/comparison. Computed here, in the API process, through the
 * same module the gate workflow's decide step uses (activities/compare): it is a read
 * path, its cost is one streaming pass over both runs' stored records with memory bounded
 * by one shard, and its result is cached in object storage under a key of the two runs'
 * current results, so a repeated request (or a gate check that compared first) reads it.
 */
import type { Pool } from 'pg';
import {
  comparability,
  comparePairedRuns,
  listExamples,
  type ExampleChange,
  loadComparableRun,
  type ComparableRun,
} from '../../../domain/comparison';
import { resolveAlias } from '../../../domain/gates/dal';
import { LOWER_IS_BETTER } from '../../../domain/gates/evaluateRules';
import { baselineStaleness } from '../../../domain/lineage/staleness';
import { findDecidingRun } from '../../../domain/runs/dal';
import { assertPerExampleReadable } from '../../../domain/retention/runRetention';
import type { Storage } from '../../../common/storage';
import { AppError, conflict } from '../../../common/errors';
import type { Principal } from '../../http/context';
import { versionAccess, type VersionAccess } from '../datasets/service';

const RESULTS_STATUSES = new Set(['succeeded', 'invalid']);

export class ComparisonService {
  constructor(
    private readonly pool: Pool,
    private readonly storage: Storage,
  ) {}

  private access(principal: Principal, run: ComparableRun): VersionAccess {
    return versionAccess(
      principal,
      { dataset_id: run.datasetId, owner_team: run.datasetOwnerTeam } as Parameters<typeof versionAccess>[1],
      { visibility: run.visibility, allowed_teams: run.allowedTeams } as Parameters<typeof versionAccess>[2],
    );
  }

  private async visibleRun(runId: string, principal: Principal, what: string, field?: string): Promise<ComparableRun> {
    const run = await loadComparableRun(this.pool, runId);
    if (!run || this.access(principal, run) === 'none')
      throw new AppError(404, 'not_found', `${what} ${runId} was not found`, field);
    return run;
  }

  /** `alias:<name>` resolves on the candidate's model to the latest valid release-mode run on the same dataset and suite versions. */
  private async baselineOf(
    candidate: ComparableRun,
    ref: string,
    principal: Principal,
  ): Promise<{ run: ComparableRun; via: string }> {
    if (!ref.startsWith('alias:'))
      return { run: await this.visibleRun(ref, principal, 'baseline run', 'baseline'), via: 'run' };
    const alias = ref.slice('alias:'.length);
    const target = await resolveAlias(this.pool, candidate.modelId, alias);
    if (!target) throw conflict('no_baseline', `model ${candidate.modelName} has no alias '${alias}'`, 'baseline');
    const run = await findDecidingRun(this.pool, {
      modelVersionId: target.model_version_id,
      datasetVersionId: candidate.datasetVersionId,
      suiteVersionId: candidate.suiteVersionId,
    });
    if (!run) {
      throw conflict(
        'no_baseline',
        `${alias} is ${target.model_version}, which has no valid release-mode run on ${candidate.datasetName} ` +
          `v${candidate.datasetVersion} ` +
          `with suite ${candidate.suiteName} v${candidate.suiteVersion}; start one (POST /v1/eval-runs with mode release)`,
        'baseline',
      );
    }
    return { run: await this.visibleRun(run.run_id, principal, 'baseline run', 'baseline'), via: `alias:${alias}` };
  }

  private async pair(runId: string, baselineRef: string, principal: Principal) {
    const candidate = await this.visibleRun(runId, principal, 'eval run');
    const { run: baseline, via } = await this.baselineOf(candidate, baselineRef, principal);
    for (const [role, run] of [
      ['candidate', candidate],
      ['baseline', baseline],
    ] as const) {
      if (!RESULTS_STATUSES.has(run.status))
        throw conflict(
          'run_not_finished',
          `the ${role} run ${run.runId} is ${run.status}; only finished runs with results can be compared`,
          role === 'baseline' ? 'baseline' : undefined,
        );
    }
    const check = comparability(candidate, baseline);
    if (!check.comparable)
      throw conflict('not_comparable', `the runs cannot be compared: ${check.differences.join('; ')}`, 'baseline');
    // A stale baseline is named (domain/lineage/staleness.ts): still comparable, but no longer what it measured.
    const staleBaseline = (await baselineStaleness(this.pool, [baseline.runId])).flatMap((s) => s.reasons);
    return {
      candidate,
      baseline,
      via,
      warnings: [...check.warnings, ...staleBaseline.map((r) => `stale baseline: ${r}`)],
      staleBaseline,
    };
  }

  async compare(runId: string, baselineRef: string, principal: Principal) {
    const { candidate, baseline, via, warnings, staleBaseline } = await this.pair(runId, baselineRef, principal);
    const comparison = await comparePairedRuns({ pool: this.pool, storage: this.storage }, candidate, baseline);
    const summary = (run: ComparableRun) => ({
      runId: run.runId,
      modelVersion: run.modelVersion,
      status: run.status,
      mode: run.mode,
      dataset: { datasetId: run.datasetId, name: run.datasetName, version: run.datasetVersion },
      metricSuite: { metricSuiteId: run.suiteId, version: run.suiteVersion },
    });
    const { paired, candidateOnly, baselineOnly, errored } = comparison.examples;
    if (candidateOnly || baselineOnly || errored)
      warnings.push(
        `${paired} examples compared; left out: ${errored} with an error in either run, ${candidateOnly + baselineOnly} ` +
          `present in one run only`,
      );
    return {
      comparable: true,
      warnings,
      staleBaseline,
      candidate: summary(candidate),
      baseline: { ...summary(baseline), via },
      seed: comparison.seed,
      examples: { paired, candidateOnly, baselineOnly, errored },
      // The direction comes from the metric, so a reader (the console) colours a delta without a table of its own.
      metrics: Object.fromEntries(
        Object.entries(comparison.metrics).map(([name, m]) => [
          name,
          { ...m, direction: LOWER_IS_BETTER.has(m.metric) ? 'lower_is_better' : 'higher_is_better' },
        ]),
      ),
    };
  }

  async examples(
    runId: string,
    query: { baseline: string; change: ExampleChange; slice?: string; limit: number; cursor?: string },
    principal: Principal,
  ) {
    const { candidate, baseline } = await this.pair(runId, query.baseline, principal);
    for (const run of [candidate, baseline]) {
      if (this.access(principal, run) !== 'rows')
        throw new AppError(
          403,
          'forbidden',
          `examples of ${run.datasetName} v${run.datasetVersion} are restricted to its allowed teams`,
        );
    }
    await assertPerExampleReadable(this.pool, candidate.runId);
    await assertPerExampleReadable(this.pool, baseline.runId);
    const page = await listExamples({ pool: this.pool, storage: this.storage }, candidate, baseline, query);
    if ('invalidCursor' in page)
      throw new AppError(400, 'invalid_request', 'cursor: not a cursor this endpoint returned', 'cursor');
    return page;
  }
}
