export * from './evalRun';
export * from './metricRecompute';
