/**
 * The reference model server: real small models trained from the SpamAssassin
 * train split at start-up, served over evalgate's two model protocols, with knobs
 * for latency, errors, rate limits, outages, malformed answers and judge drift.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { buildModelApp } from './app';
import { FaultInjector, type Knobs, type KnobsPatch } from './knobs';
import { sharedModelCatalog, type ModelCatalog } from './models/catalog';
import { StatsRecorder, type ArrivalLog, type ModelServerStats } from './stats';

export interface ModelServerOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port to bind; default 0 (any free port). */
  port?: number;
  /** Initial knobs; the rest take their defaults. */
  knobs?: KnobsPatch;
  /** Models to serve; default: the process-wide catalog trained from the train split. */
  catalog?: ModelCatalog;
  logger?: Logger;
}

export interface ModelServer {
  /** Base URL, e.g. `http://127.0.0.1:8700`. */
  url: string;
  port: number;
  /** Endpoint URL to register for `openai-chat` (evalgate appends `/chat/completions`). */
  openaiBaseUrl: string;
  /** Endpoint URL to register for `json-predict` with this model. */
  predictUrl(model: string): string;
  /** Served model names, classification first. */
  models: string[];
  stats(): ModelServerStats;
  /** Model calls in arrival order while the knob `recordArrivals` is on; cleared with the counters. */
  arrivals(): ArrivalLog;
  resetStats(): void;
  knobs(): Readonly<Knobs>;
  /** Merges the patch into the current knobs (validated; throws on a bad value) and returns the result. */
  setKnobs(patch: KnobsPatch): Readonly<Knobs>;
  resetKnobs(): Readonly<Knobs>;
  close(): Promise<void>;
}

export async function createModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const logger = options.logger ?? pino({ name: 'model-server', level: 'silent' });
  const catalog = options.catalog ?? sharedModelCatalog();
  const faults = new FaultInjector(options.knobs);
  const stats = new StatsRecorder();
  const server: Server = createServer(buildModelApp({ catalog, faults, stats, logger }));
  // Long keep-alive so load generators and evalgate's HTTP agents reuse connections.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.maxRequestsPerSocket = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, models: [...catalog.models.keys()], trainedOn: catalog.trainedOn }, 'model server listening');

  return {
    url,
    port: address.port,
    openaiBaseUrl: `${url}/v1`,
    predictUrl: (model) => `${url}/predict/${encodeURIComponent(model)}`,
    models: [...catalog.models.keys()],
    stats: () => stats.snapshot(),
    arrivals: () => stats.arrivals(),
    resetStats: () => stats.reset(),
    knobs: () => faults.knobs,
    setKnobs: (patch) => faults.update(patch),
    resetKnobs: () => faults.reset(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
