/**
 * Legal holds on dataset versions. Placing or releasing one takes the editor role on the
 * dataset's owning team (admin implies it): the team that answers for the data answers for
 * keeping it. A principal who may not see the version gets 404, as for the version itself.
 * Both are audited; a released hold stays as a record.
 */
import type { Pool } from 'pg';
import { withTransaction } from '../../../common/db';
import { notFound } from '../../../common/errors';
import { recordAudit } from '../../../domain/audit/dal';
import * as dal from '../../../domain/retention/dal';
import { requireRole } from '../../http/auth';
import type { Principal } from '../../http/context';
import type * as datasetsDal from '../../../domain/datasets/dal';
import { versionAccess, type DatasetService } from '../datasets/service';

export class RetentionService {
  constructor(
    private readonly pool: Pool,
    private readonly datasets: DatasetService,
  ) {}

  async placeHold(datasetId: string, version: number, reason: string, principal: Principal, requestId: string) {
    const found = await this.datasets.getVersion(datasetId, version, principal);
    requireRole(principal, found.dataset.owner_team, 'editor');
    return withTransaction(this.pool, async (tx) => {
      const hold = await dal.insertHold(tx, {
        datasetVersionId: found.version.dataset_version_id,
        reason,
        placedBy: principal.principalId,
      });
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'retention.hold_placed',
        entityKind: 'legal_hold',
        entityId: hold.hold_id,
        detail: { datasetId, version, datasetVersionId: hold.dataset_version_id, reason },
        requestId,
      });
      return hold;
    });
  }

  /** Releases a hold; releasing one already released answers it as it is (idempotent). */
  async releaseHold(holdId: string, principal: Principal, requestId: string) {
    return withTransaction(this.pool, async (tx) => {
      const hold = await dal.findHold(tx, holdId, true);
      const visible =
        hold &&
        versionAccess(
          principal,
          { dataset_id: hold.dataset_id, owner_team: hold.owner_team } as datasetsDal.DatasetRecord,
          hold as unknown as datasetsDal.DatasetVersionRecord,
        ) !== 'none';
      if (!hold || !visible) throw notFound(`legal hold ${holdId}`);
      requireRole(principal, hold.owner_team, 'editor');
      if (hold.released_at) return hold;
      const released = (await dal.releaseHold(tx, holdId, principal.principalId))!;
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'retention.hold_released',
        entityKind: 'legal_hold',
        entityId: holdId,
        detail: { datasetId: hold.dataset_id, version: hold.version, datasetVersionId: hold.dataset_version_id },
        requestId,
      });
      return { ...hold, ...released };
    });
  }
}
