import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { createPool } from '../common/db';
import { createLogger } from '../common/logger';
import { createStorage } from '../common/storage';
import { migrate } from '../schema/migrate';
import { createEvalWorkers, installTemporalLogging } from './evalWorkers';

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
  const workers = await createEvalWorkers({ config, pool, storage, logger, connection });
  logger.info({ taskQueues: workers.map((w) => w.options.taskQueue) }, 'evalgate workers polling');
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  await pool.end();
}

main().catch((err: Error) => {
  process.stderr.write(`evalgate worker: ${err.message}\n`);
  process.exit(1);
});
