import { getMetricImpl, isMetricId } from '../../../domain/metrics/registry';
import { UnknownMetricVersionError, type AnyMetricImpl } from '../../../domain/metrics/types';

/** Looks a metric id (and optional implementation version) up in the metrics library. */
export function findMetric(id: string, version?: string): AnyMetricImpl | 'unknown_metric' | 'unknown_version' {
  if (!isMetricId(id)) return 'unknown_metric';
  try {
    return getMetricImpl(id, version);
  } catch (err) {
    if (err instanceof UnknownMetricVersionError) return 'unknown_version';
    throw err;
  }
}
