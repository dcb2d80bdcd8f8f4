/**
 * The lineage graph, walked from the records themselves: downstream from an input (a
 * dataset version, suite version, metric implementation, judge or model version) to the
 * runs that used it, their results, the gate decisions that used those, the checks they
 * decided and the alias moves those allowed; upstream from a run or check to everything
 * it was made from. Runs on restricted dataset versions the caller may not see are left out.
 */
import type { Pool } from 'pg';
import { notFound } from '../../../common/errors';
import type { Principal } from '../../http/context';
import type { DatasetRecord, DatasetVersionRecord } from '../../../domain/datasets/dal';
import { versionAccess } from '../datasets/service';
import * as dal from '../../../domain/lineage/dal';
import { experimentsOfChecks } from '../../../domain/experiments/dal';
import { LineageGraph, nodeId, type NodeKind } from './graph';
import { runAccessFacts } from '../../../domain/access/dal';
import { authorize } from '../../../domain/access/policy';
import { visibleCheckIds, visibleIncidentIds } from '../../../domain/access/visibility';

export const LINEAGE_KINDS = [
  'dataset_version',
  'metric_suite_version',
  'metric_impl',
  'judge',
  'model_version',
  'eval_run',
  'gate_check',
] as const;
export type LineageKind = (typeof LINEAGE_KINDS)[number];
export type Direction = 'upstream' | 'downstream';

const RUN_RELATION: Record<LineageKind, string> = {
  dataset_version: 'evaluated_on',
  metric_suite_version: 'scored_by',
  metric_impl: 'computed_with',
  judge: 'judged_by',
  model_version: 'evaluated',
  eval_run: 'is',
  gate_check: 'used',
};

/** The root record's column that runs refer to it by. */
const ROOT_KEY: Record<Exclude<LineageKind, 'metric_impl' | 'gate_check'>, string> = {
  dataset_version: 'dataset_version_id',
  metric_suite_version: 'metric_suite_version_id',
  model_version: 'model_version_id',
  judge: 'judge_fingerprint',
  eval_run: 'run_id',
};

export class LineageService {
  constructor(private readonly pool: Pool) {}

  async graph(kind: LineageKind, id: string, direction: Direction, principal: Principal, limit: number) {
    const root = await dal.resolveRoot(this.pool, kind, id);
    if (!root) throw notFound(`${kind.replace(/_/g, ' ')} ${id}`);
    if (
      kind === 'dataset_version' &&
      versionAccess(principal, root as DatasetRecord, root as DatasetVersionRecord) === 'none'
    )
      throw notFound(`dataset version ${id}`);
    if (kind === 'eval_run' && !(await this.runVisible(root.run_id, principal))) throw notFound(`eval run ${id}`);
    if (kind === 'gate_check' && !(await visibleCheckIds(this.pool, principal, [root.check_id])).size)
      throw notFound(`gate check ${id}`);
    const g = new LineageGraph(limit);
    const rootId = this.addRoot(g, kind, root);
    if (direction === 'downstream') await this.downstream(g, kind, root, rootId, principal, limit);
    else await this.upstream(g, kind, root, rootId, principal, limit);
    return g.toJSON(rootId, direction);
  }

  private addRoot(g: LineageGraph, kind: LineageKind, root: Record<string, any>): string {
    switch (kind) {
      case 'dataset_version':
        return g.node('dataset_version', root.dataset_version_id, `${root.name} v${root.version}`, {
          datasetId: root.dataset_id,
          version: root.version,
          status: root.status,
          contentHash: root.content_hash,
        })!;
      case 'metric_suite_version':
        return g.node('metric_suite_version', root.metric_suite_version_id, `${root.name} v${root.version}`, {
          metricSuiteId: root.metric_suite_id,
          version: root.version,
        })!;
      case 'model_version':
        return g.node('model_version', root.model_version_id, root.label, {})!;
      case 'metric_impl':
        return g.node('metric_impl', `${root.metric}@${root.version}`, `${root.metric}@${root.version}`, {
          metric: root.metric,
          version: root.version,
        })!;
      case 'judge':
        return g.node('judge', root.judge_fingerprint, `judge ${root.judge_fingerprint.slice(0, 12)}`, {
          modelVersion: root.judge?.modelVersion ?? null,
        })!;
      case 'eval_run':
        return g.node('eval_run', root.run_id, `run ${root.run_id.slice(0, 8)}`, {})!;
      case 'gate_check':
        return g.node('gate_check', root.check_id, `check ${root.check_id.slice(0, 8)}`, {})!;
    }
  }

  private async runVisible(runId: string, principal: Principal): Promise<boolean> {
    const facts = await runAccessFacts(this.pool, runId);
    return (
      Boolean(facts) && authorize(principal, 'read', { kind: 'run', ...facts!, dataset: facts!.dataset }) === 'allow'
    );
  }

  private visible(runs: dal.RunRow[], principal: Principal): dal.RunRow[] {
    return runs.filter(
      (r) =>
        versionAccess(
          principal,
          { owner_team: r.owner_team } as DatasetRecord,
          { visibility: r.visibility, allowed_teams: r.allowed_teams } as DatasetVersionRecord,
        ) !== 'none',
    );
  }

  private addRun(g: LineageGraph, r: dal.RunRow): string | undefined {
    return g.node(
      'eval_run',
      r.run_id,
      `run ${r.run_id.slice(0, 8)} (${r.model_version} on ${r.dataset_name} v${r.dataset_version})`,
      {
        status: r.status,
        mode: r.mode,
        createdAt: r.created_at.toISOString(),
        ...(r.invalid_reason ? { invalidReason: r.invalid_reason } : {}),
      },
    );
  }

  private async downstream(
    g: LineageGraph,
    kind: LineageKind,
    root: Record<string, any>,
    rootId: string,
    principal: Principal,
    limit: number,
  ) {
    const selector: dal.RunSelector | null =
      kind === 'metric_impl'
        ? { by: 'metric_impl', metric: root.metric, version: root.version }
        : kind === 'gate_check'
          ? null
          : { by: kind === 'eval_run' ? 'run' : kind, ids: [root[ROOT_KEY[kind]]] };
    const metricFilter =
      kind === 'metric_impl' ? (root.metric as string) : kind === 'judge' ? 'judge_score' : undefined;
    const runs = selector ? this.visible(await dal.runs(this.pool, selector, limit), principal) : [];
    for (const r of runs) g.edge(rootId, this.addRun(g, r), RUN_RELATION[kind]);
    const runIds = runs.map((r) => r.run_id);
    const results = await dal.results(this.pool, runIds, metricFilter);
    this.addResults(g, results);
    await this.addIncidents(
      g,
      results.map((r) => r.incident_id),
      principal,
    );

    const modelChecks =
      kind === 'model_version'
        ? await dal.checks(this.pool, { candidateModelVersionIds: [root.model_version_id] })
        : [];
    const seen = await visibleCheckIds(
      this.pool,
      principal,
      modelChecks.map((c) => c.check_id),
    );
    const candidateChecks = modelChecks.filter((c) => seen.has(c.check_id));
    const checkIds = kind === 'gate_check' ? [root.check_id as string] : candidateChecks.map((c) => c.check_id);
    const decisions = [
      ...(await dal.decisionsUsing(
        this.pool,
        results.map((r) => r.result_id),
        runIds,
      )),
      ...(await dal.decisionsOfChecks(this.pool, checkIds)),
    ];
    await this.addDecisions(g, decisions, principal);
    for (const c of candidateChecks) g.edge(rootId, nodeId('gate_check', c.check_id), 'candidate_in');
    const allChecks = [...new Set(decisions.map((d) => d.check_id))];
    const moves = await dal.aliasMoves(this.pool, {
      checkIds: allChecks,
      modelVersionIds: kind === 'model_version' ? [root.model_version_id] : [],
    });
    // Online experiments the checks started: check → experiment → the alias move its promotion made.
    for (const e of await experimentsOfChecks(this.pool, allChecks)) {
      const id = g.node('experiment', e.experiment_id, `experiment ${e.name} (${e.status})`, {
        status: e.status,
        candidate: e.candidate,
        baselineAlias: e.baseline_alias,
        ...(e.decision ? { reason: (e.decision as { reason?: string }).reason ?? null } : {}),
      });
      g.edge(nodeId('gate_check', e.gate_check_id), id, 'started');
    }
    for (const m of moves) {
      const moveId = g.node('alias_move', m.history_id, `${m.model}:${m.alias} → ${m.model_version}`, {
        model: m.model,
        alias: m.alias,
        modelVersion: m.model_version,
        changedAt: m.changed_at.toISOString(),
        ...(m.experiment_id ? { experimentId: m.experiment_id } : {}),
      });
      if (m.experiment_id) g.edge(nodeId('experiment', m.experiment_id), moveId, 'promoted');
      else if (m.gate_check_id) g.edge(nodeId('gate_check', m.gate_check_id), moveId, 'allowed');
      if (kind === 'model_version' && m.model_version_id === root.model_version_id) g.edge(rootId, moveId, 'aliased');
    }
  }

  private addResults(g: LineageGraph, results: dal.ResultRow[]) {
    for (const r of results) {
      const id = g.node(
        'metric_result',
        r.result_id,
        `${r.metric_name} = ${r.value ?? 'n/a'} (${r.metric_id}@${r.impl_version})`,
        {
          metricName: r.metric_name,
          metric: r.metric_id,
          implVersion: r.impl_version,
          value: r.value,
          current: r.superseded_at === null,
          ...(r.incident_id ? { incidentId: r.incident_id } : {}),
        },
      );
      g.edge(nodeId('eval_run', r.run_id), id, 'produced');
    }
    for (const r of results)
      if (r.superseded_by)
        g.edge(nodeId('metric_result', r.result_id), nodeId('metric_result', r.superseded_by), 'superseded_by');
  }

  /** Incidents the principal may see (BRIEF: an incident is hidden from those who may not see every dataset it touches). */
  private async addIncidents(g: LineageGraph, ids: (string | null)[], principal: Principal) {
    const wanted = [...new Set(ids.filter((i): i is string => Boolean(i)))];
    const seen = await visibleIncidentIds(this.pool, principal, wanted);
    const incidents = await dal.incidents(
      this.pool,
      wanted.filter((i) => seen.has(i)),
    );
    for (const i of incidents)
      g.node('incident', i.incident_id, `${i.kind.replace(/_/g, ' ')} incident`, {
        kind: i.kind,
        status: i.status,
        note: i.note,
      });
  }

  /** Decisions of checks the principal may see, with those checks and edges from the results (or runs) they used. */
  private async addDecisions(g: LineageGraph, all: dal.DecisionRow[], principal: Principal) {
    const seen = await visibleCheckIds(
      this.pool,
      principal,
      all.map((d) => d.check_id),
    );
    const decisions = all.filter((d) => seen.has(d.check_id));
    const checks = await dal.checks(this.pool, { checkIds: [...new Set(decisions.map((d) => d.check_id))] });
    for (const c of checks) {
      g.node('gate_check', c.check_id, `${c.gate_name} check of ${c.candidate}`, {
        status: c.status,
        gateId: c.gate_id,
        gate: c.gate_name,
        gateVersion: c.gate_version,
        candidate: c.candidate,
      });
    }
    await this.addIncidents(
      g,
      decisions.map((d) => d.incident_id),
      principal,
    );
    for (const d of decisions) {
      const id = g.node('gate_decision', d.decision_id, `${d.status} (${d.cause})`, {
        status: d.status,
        cause: d.cause,
        decidedAt: d.decided_at.toISOString(),
        ...(d.incident_id ? { incidentId: d.incident_id } : {}),
      });
      for (const r of d.result_ids) g.edge(nodeId('metric_result', r), id, 'used_by');
      for (const r of d.run_ids) if (!d.result_ids.length) g.edge(nodeId('eval_run', r), id, 'used_by');
      g.edge(id, nodeId('gate_check', d.check_id), 'decided');
      if (d.incident_id) g.edge(nodeId('incident', d.incident_id), id, 'revoked');
    }
  }

  private async upstream(
    g: LineageGraph,
    kind: LineageKind,
    root: Record<string, any>,
    rootId: string,
    principal: Principal,
    limit: number,
  ) {
    const up = (
      kindOf: NodeKind,
      key: string,
      label: string,
      relation: string,
      to: string | undefined,
      attrs: Record<string, unknown> = {},
    ) => {
      const id = g.node(kindOf, key, label, attrs);
      g.edge(id, to, relation);
      return id;
    };
    switch (kind) {
      case 'dataset_version':
        up('dataset', root.dataset_id, root.name, 'has_version', rootId);
        return;
      case 'model_version':
        up('model', root.model_id, root.label.slice(0, root.label.lastIndexOf('@')), 'has_version', rootId);
        return;
      case 'metric_suite_version':
        up('metric_suite', root.metric_suite_id, root.name, 'has_version', rootId);
        for (const m of root.metrics as { metric: string; implVersion: string }[])
          up('metric_impl', `${m.metric}@${m.implVersion}`, `${m.metric}@${m.implVersion}`, 'pinned_by', rootId);
        if (root.judge_fingerprint)
          up('judge', root.judge_fingerprint, `judge ${root.judge_fingerprint.slice(0, 12)}`, 'pinned_by', rootId);
        return;
      case 'judge':
        if (root.judge?.modelVersion)
          up(
            'model_version',
            root.judge.modelVersionId ?? root.judge.modelVersion,
            root.judge.modelVersion,
            'judges_as',
            rootId,
          );
        return;
      case 'metric_impl':
        return;
      case 'eval_run': {
        const runs = this.visible(await dal.runs(this.pool, { by: 'run', ids: [root.run_id] }, 1), principal);
        if (!runs.length) throw notFound(`eval run ${root.run_id}`);
        this.addRunUpstream(g, runs[0]);
        return;
      }
      case 'gate_check': {
        const [check] = await dal.checks(this.pool, { checkIds: [root.check_id] });
        up('gate', check.gate_id, check.gate_name, 'has_check', rootId, { version: check.gate_version });
        up('model_version', check.candidate_model_version_id, check.candidate, 'candidate_in', rootId);
        const decisions = await dal.decisionsOfChecks(this.pool, [root.check_id]);
        await this.addDecisions(g, decisions, principal);
        const results = await dal.resultsById(this.pool, [...new Set(decisions.flatMap((d) => d.result_ids))]);
        const runIds = [...new Set([...results.map((r) => r.run_id), ...decisions.flatMap((d) => d.run_ids)])];
        const runs = this.visible(await dal.runs(this.pool, { by: 'run', ids: runIds }, limit), principal);
        for (const r of runs) this.addRunUpstream(g, r);
        this.addResults(
          g,
          results.filter((r) => runs.some((run) => run.run_id === r.run_id)),
        );
        for (const d of decisions)
          for (const r of d.result_ids)
            g.edge(nodeId('metric_result', r), nodeId('gate_decision', d.decision_id), 'used_by');
        await this.addIncidents(
          g,
          decisions.map((d) => d.incident_id),
          principal,
        );
        for (const d of decisions)
          if (d.incident_id)
            g.edge(nodeId('incident', d.incident_id), nodeId('gate_decision', d.decision_id), 'revoked');
      }
    }
  }

  /** A run and everything it recorded using: dataset version, model version, suite version, metric implementations, judge. */
  private addRunUpstream(g: LineageGraph, r: dal.RunRow) {
    const run = this.addRun(g, r);
    const dv = g.node('dataset_version', r.dataset_version_id, `${r.dataset_name} v${r.dataset_version}`, {
      datasetId: r.dataset_id,
      version: r.dataset_version,
      status: r.dataset_status,
    });
    g.edge(g.node('dataset', r.dataset_id, r.dataset_name), dv, 'has_version');
    g.edge(dv, run, 'evaluated_on');
    g.edge(g.node('model_version', r.model_version_id, r.model_version), run, 'evaluated');
    const sv = g.node('metric_suite_version', r.metric_suite_version_id, `${r.suite_name} v${r.suite_version}`, {
      metricSuiteId: r.suite_id,
      version: r.suite_version,
    });
    g.edge(g.node('metric_suite', r.suite_id, r.suite_name), sv, 'has_version');
    g.edge(sv, run, 'scored_by');
    for (const [metric, version] of Object.entries(r.metric_impl_versions ?? {})) {
      g.edge(
        g.node('metric_impl', `${metric}@${version}`, `${metric}@${version}`, { metric, version }),
        run,
        'computed_with',
      );
    }
    if (r.judge_fingerprint)
      g.edge(g.node('judge', r.judge_fingerprint, `judge ${r.judge_fingerprint.slice(0, 12)}`), run, 'judged_by');
  }
}
