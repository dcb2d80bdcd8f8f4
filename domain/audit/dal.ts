import type { Queryable } from '../../common/db';

export interface AuditEntry {
  principalId: string | null;
  action: string;
  entityKind: string;
  entityId: string;
  detail?: Record<string, unknown>;
  requestId?: string;
}

/** Appends to the audit log inside the caller's transaction, so the record and its audit commit together. */
export async function recordAudit(q: Queryable, entry: AuditEntry): Promise<void> {
  await q.query(
    'INSERT INTO audit_log (principal_id, action, entity_kind, entity_id, detail, request_id) VALUES ($1, $2, $3, $4, $5, $6)',
    [
      entry.principalId,
      entry.action,
      entry.entityKind,
      entry.entityId,
      JSON.stringify(entry.detail ?? {}),
      entry.requestId ?? null,
    ],
  );
}
