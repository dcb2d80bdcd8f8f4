import { configFrom } from '../../../common/config';
import { DEFAULT_RETENTION, retentionPolicy, retentionSeconds } from '../../../common/retention';
import { retentionView } from '../../../domain/retention/runRetention';
import { perExampleObject } from '../../../domain/retention/sweep';
import { incidentKeys } from '../../../domain/incidents/keys';
import { judgeKeys } from '../../../domain/judge/transcripts';
import { runKeys } from '../../../domain/runs/keys';

describe('the retention policy', () => {
  it('reads EVALGATE_RETENTION_<CLASSIFICATION> as durations in seconds, with the brief’s defaults', () => {
    const config = configFrom({ EVALGATE_RETENTION_RESTRICTED: '10s', EVALGATE_RETENTION_CONFIDENTIAL: '12h' });
    expect(retentionPolicy(config)).toEqual({
      public: 365 * 86_400,
      internal: 180 * 86_400,
      confidential: 43_200,
      restricted: 10,
    });
    expect(configFrom({ EVALGATE_RETENTION_PUBLIC: '15m' }).EVALGATE_RETENTION_PUBLIC).toBe(900);
    expect(configFrom({}).EVALGATE_RETENTION_SWEEP_INTERVAL).toBe(3600);
  });

  it('refuses a duration it cannot read', () => {
    for (const bad of ['30', '2w', '0d', '-1d', '1.5h', ''])
      expect(() => configFrom({ EVALGATE_RETENTION_RESTRICTED: bad })).toThrow(/duration like 30d/);
  });

  it('gives an unknown classification the shortest retention', () => {
    expect(retentionSeconds('internal')).toBe(DEFAULT_RETENTION.internal);
    expect(retentionSeconds('secret')).toBe(DEFAULT_RETENTION.restricted);
  });
});

describe('what a sweep deletes under a run', () => {
  const run = '11111111-1111-4111-8111-111111111111';
  const incident = '22222222-2222-4222-8222-222222222222';

  it('deletes per-example records and transcripts, and keeps metric states', () => {
    expect(perExampleObject(runKeys.part(run, 0, 1))).toBe('records');
    expect(perExampleObject(incidentKeys.judgedPart(incident, run, 0, 1))).toBe('records');
    expect(perExampleObject(incidentKeys.originalPart(incident, run, 0, 1))).toBe('records');
    expect(perExampleObject(judgeKeys.transcripts(run, 0, 1))).toBe('transcript');
    expect(perExampleObject(judgeKeys.canaryTranscripts(run, 0))).toBe('transcript');
    expect(perExampleObject(incidentKeys.transcripts(incident, run, 0, 1))).toBe('transcript');
    expect(perExampleObject(runKeys.shardState(run, 0))).toBeNull();
  });
});

describe('a run’s retention as readers see it', () => {
  const at = new Date('2026-01-01T00:00:00Z');

  it('is expired when due and not held, or once tombstoned (a later hold does not undo a deletion)', () => {
    expect(retentionView({ expires_at: at, expired_at: null, held: false, due: false })).toEqual({
      expiresAt: at.toISOString(),
      expired: false,
      held: false,
    });
    expect(retentionView({ expires_at: at, expired_at: null, held: false, due: true }).expired).toBe(true);
    expect(retentionView({ expires_at: at, expired_at: null, held: true, due: true }).expired).toBe(false);
    expect(retentionView({ expires_at: at, expired_at: at, held: true, due: true })).toEqual({
      expiresAt: at.toISOString(),
      expired: true,
      held: true,
    });
    expect(retentionView({ expires_at: null, expired_at: null, held: false, due: false }).expiresAt).toBeNull();
  });
});
