import pino, { type Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

export function createLogger(config: Pick<Config, 'EVALGATE_LOG_LEVEL'>, name: string): Logger {
  return pino({ name, level: config.EVALGATE_LOG_LEVEL, base: { service: name } });
}
