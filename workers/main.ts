import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { createPool } from '../common/db';
import { createLogger } from '../common/logger';
import { createStorage } from '../common/storage';
import { migrate } from '../schema/migrate';
import { createEvalWorkers, endpointLimitersFromConfig, installTemporalLogging } from './evalWorkers';
import { serveWorkerMetrics, workerRegistry } from './metrics';
import { ensureRetentionSchedule } from './retentionSchedule';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config, 'evalgate-worker');
  installTemporalLogging(logger);
  const pool = createPool(config, logger);
  await migrate(pool, 'verify').catch(async (err: Error) => {
    // The API applies migrations; a worker started first applies them itself.
    if (!/pending migrations/.test(err.message)) throw err;
    await migrate(pool);
  });
  const storage = createStorage(config);
  await storage.ensureBucket();
  const connection = await NativeConnection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const limiters = endpointLimitersFromConfig(config, { pool, logger });
  const workers = await createEvalWorkers({ config, pool, storage, logger, connection, limiters });
  const metrics = serveWorkerMetrics(
    workerRegistry(workers, limiters),
    config.EVALGATE_WORKER_METRICS_HOST,
    config.EVALGATE_WORKER_METRICS_PORT,
    logger,
  );
  // The retention sweep runs on a Temporal Schedule; every worker start makes sure it exists with this config.
  const clientConnection = await Connection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const scheduleId = await ensureRetentionSchedule(
    new Client({ connection: clientConnection, namespace: config.EVALGATE_TEMPORAL_NAMESPACE }),
    config,
  );
  await clientConnection.close();
  logger.info(
    { scheduleId, everySeconds: config.EVALGATE_RETENTION_SWEEP_INTERVAL },
    'retention sweep schedule in place',
  );
  logger.info({ taskQueues: workers.map((w) => w.options.taskQueue) }, 'evalgate workers polling');
  await Promise.all(workers.map((w) => w.run()));
  metrics?.close();
  await limiters.close();
  await connection.close();
  await pool.end();
}

main().catch((err: Error) => {
  process.stderr.write(`evalgate worker: ${err.message}\n`);
  process.exit(1);
});
