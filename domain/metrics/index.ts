/** The metrics library's public surface. */
export * from './types';
export { metricRegistry, metricVersions, latestImplVersion, getMetricImpl, isMetricId } from './registry';
export { scoreExamples, emptyMetricState, mergeMetricStates } from './state';
export {
  createAccumulator,
  mergeAccumulatorStates,
  finalizeAccumulator,
  resolveSpec,
  ACCUMULATOR_FORMAT,
  DEFAULT_REPLICATES,
  MAX_AUTO_SLICES,
  type AccumulatorSpec,
  type AccumulatorState,
  type MetricSpec,
  type MetricAccumulator,
  type MetricIdentity,
  type ResolvedMetric,
  type ResolvedSpec,
  type MetricResult,
  type SliceResult,
} from './accumulator';
export {
  compareAccumulators,
  mcnemarExact,
  bootstrapPValue,
  type MetricComparison,
  type SliceComparison,
} from './compare';
export { HIST_BINS, type LayerState, type GroupState } from './layer';
export type { SliceSetState } from './slices';
export { normalizeAnswer } from './generation/text';
