import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../common/config';
import { createPool } from '../common/db';
import { createLogger } from '../common/logger';
import { createStorage } from '../common/storage';
import { migrate } from '../schema/migrate';
import { createApp } from './app';
import { listen } from './http/listen';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config, 'evalgate-api');
  const pool = createPool(config, logger);
  const applied = await migrate(pool);
  if (applied.length) logger.info({ applied }, 'applied migrations');
  const storage = createStorage(config);
  await storage.ensureBucket();
  const connection = await Connection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.EVALGATE_TEMPORAL_NAMESPACE });
  const { app, services } = createApp({ config, pool, storage, temporal, logger });
  if (config.EVALGATE_BOOTSTRAP_TOKEN) await services.principals.ensureBootstrapAdmin(config.EVALGATE_BOOTSTRAP_TOKEN);
  const server = await listen(app, config.EVALGATE_API_PORT, config.EVALGATE_API_HOST);
  logger.info({ url: `http://${config.EVALGATE_API_HOST}:${config.EVALGATE_API_PORT}` }, 'evalgate API listening');
  const shutdown = () => {
    logger.info('shutting down');
    server.close(() => {
      void Promise.allSettled([pool.end(), connection.close()]).then(() => process.exit(0));
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: Error) => {
  process.stderr.write(`evalgate api: ${err.message}\n`);
  process.exit(1);
});
