/**
 * An incident that revokes a gate check rolls back the experiments that check started: each
 * running experiment's workflow gets a rollback signal (reason `gate_revoked`), through the
 * worker's own Temporal client. Should the signal fail (no workflow, or no client), the
 * rollback is recorded directly; the workflow's next check then finds the experiment ended.
 */
import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { ROLLBACK_EXPERIMENT_SIGNAL } from '../../common/names';
import { experimentsOfChecks } from '../../domain/experiments/dal';
import { rollBack } from '../../domain/experiments/lifecycle';

export async function rollBackExperimentsOfCheck(pool: Pool, checkId: string, message: string): Promise<number> {
  const live = (await experimentsOfChecks(pool, [checkId])).filter((e) => ['running', 'paused'].includes(e.status));
  for (const e of live) {
    try {
      await Context.current().client.workflow.getHandle(e.workflow_id).signal(ROLLBACK_EXPERIMENT_SIGNAL, {
        reason: 'gate_revoked',
        message,
        principalId: null,
      });
    } catch {
      await rollBack(pool, e.experiment_id, 'gate_revoked', message);
    }
  }
  return live.length;
}
