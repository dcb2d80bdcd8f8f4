export * from './evalRun';
export * from './metricRecompute';
export * from './datasetDeprecation';
export * from './releaseGate';
export * from './judgeIncident';
