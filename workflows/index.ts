export * from './evalRun';
