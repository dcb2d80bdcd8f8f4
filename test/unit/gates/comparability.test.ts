import { comparability, type ComparableRun } from '../../../domain/comparison/comparability';

const run = (over: Partial<ComparableRun> = {}): ComparableRun => ({
  runId: 'r',
  status: 'succeeded',
  mode: 'release',
  invalidReason: null,
  errorClass: null,
  modelId: 'm',
  modelName: 'spam',
  modelVersionId: 'mv',
  modelVersion: 'spam@1',
  modelOwnerTeam: 't',
  datasetId: 'd',
  datasetName: 'emails',
  datasetOwnerTeam: 't',
  datasetVersionId: 'dv1',
  datasetVersion: 1,
  datasetContentHash: 'dh',
  suiteContentHash: 'sh',
  datasetStatus: 'active',
  visibility: 'internal',
  allowedTeams: [],
  taskType: 'generation',
  suiteId: 's',
  suiteName: 'subjects',
  suitePurpose: 'release_blocking',
  suiteVersionId: 'sv1',
  suiteVersion: 1,
  suiteMetrics: [
    { name: 'quality', metric: 'judge_score', implVersion: '1.0.0' },
    { name: 'em', metric: 'exact_match', implVersion: '1.0.0' },
  ],
  judgeFingerprint: 'judge-a',
  judgeDrift: false,
  platformVersion: '0.1.0',
  promptTemplateHash: 'p1',
  paramsHash: 'h1',
  finishedAt: null,
  results: [
    {
      resultId: '1',
      metricName: 'quality',
      metricId: 'judge_score',
      implVersion: '1.0.0',
      value: 0.5,
      ciLow: null,
      ciHigh: null,
      n: 10,
      slices: {},
      partial: false,
    },
    {
      resultId: '2',
      metricName: 'em',
      metricId: 'exact_match',
      implVersion: '1.0.0',
      value: 0.1,
      ciLow: null,
      ciHigh: null,
      n: 10,
      slices: {},
      partial: false,
    },
  ],
  ...over,
});

describe('comparability', () => {
  it('accepts runs on the same dataset, suite and implementation versions', () => {
    expect(comparability(run(), run({ runId: 'b' }))).toEqual({ comparable: true, differences: [], warnings: [] });
  });

  it('refuses a different judge for judged metrics', () => {
    const result = comparability(run(), run({ judgeFingerprint: 'judge-b' }));
    expect(result.comparable).toBe(false);
    expect(result.differences).toEqual(['judge differs for quality: candidate judge judge-a, baseline judge judge-b']);
  });

  it('refuses a metric recomputed with another implementation version in one run only', () => {
    const recomputed = run({ results: [run().results[0], { ...run().results[1], implVersion: '1.0.1' }] });
    expect(comparability(run(), recomputed).differences).toEqual([
      'metric implementation differs for em: candidate exact_match@1.0.0, baseline exact_match@1.0.1',
    ]);
  });

  it('refuses other dataset or suite versions, naming them', () => {
    const other = comparability(
      run(),
      run({ datasetVersionId: 'dv2', datasetVersion: 2, suiteVersionId: 'sv2', suiteVersion: 2 }),
    );
    expect(other.differences).toEqual([
      'dataset version differs: the candidate ran on emails v1, the baseline on v2',
      'metric suite version differs: the candidate used subjects v1, the baseline v2',
    ]);
  });

  it('warns about prompt, params, platform, invalid, exploratory, drift, partial and deprecated', () => {
    const { comparable, warnings } = comparability(
      run(),
      run({
        promptTemplateHash: 'p2',
        paramsHash: 'h2',
        platformVersion: '0.2.0',
        status: 'invalid',
        invalidReason: 'judge incident',
        mode: 'exploratory',
        judgeDrift: true,
        datasetStatus: 'deprecated',
        results: run().results.map((r) => ({ ...r, partial: true })),
      }),
    );
    expect(comparable).toBe(true);
    expect(warnings).toEqual([
      'the prompt templates differ',
      'the inference params differ',
      'the platform versions differ (0.1.0 vs 0.2.0)',
      'the baseline run is invalid: judge incident',
      'the baseline run is exploratory: it cannot decide a gate',
      "the baseline run's judge was flagged for drift",
      "the baseline run's results are partial (its budget ran out)",
      "the baseline run's dataset version is deprecated",
    ]);
  });
});
