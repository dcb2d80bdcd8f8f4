/**
 * Starts the reference model server:
 *   npx tsx testkit/modelServer/main.ts [port] [host]
 * Port from argv, else MODEL_SERVER_PORT, else 8700; host from argv, else
 * MODEL_SERVER_HOST, else 127.0.0.1. Initial knobs may be given as JSON in
 * MODEL_SERVER_KNOBS. (A standalone example program, so it reads its own
 * environment rather than evalgate's config.)
 */
import pino from 'pino';
import { z } from 'zod';
import { knobsPatchSchema } from './knobs';
import { createModelServer } from './server';

const argsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string().min(1),
  knobs: z
    .string()
    .optional()
    .transform((text) => (text ? knobsPatchSchema.parse(JSON.parse(text)) : {})),
});

async function main(): Promise<void> {
  const logger = pino({ name: 'model-server' });
  const parsed = argsSchema.safeParse({
    port: process.argv[2] ?? process.env.MODEL_SERVER_PORT ?? 8700,
    host: process.argv[3] ?? process.env.MODEL_SERVER_HOST ?? '127.0.0.1',
    knobs: process.env.MODEL_SERVER_KNOBS,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    process.stderr.write(`model server: bad ${issue.path.join('.')}: ${issue.message}\n`);
    process.exit(2);
  }
  const server = await createModelServer({ ...parsed.data, logger });
  logger.info({ openaiBaseUrl: server.openaiBaseUrl, predictUrl: server.predictUrl(':model') }, 'ready');
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`model server failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
