import type { Express } from 'express';
import type { Server } from 'node:http';

/**
 * Starts the HTTP server. Idle keep-alive connections stay open longer than a client's pool
 * keeps them (undici and most proxies: 4–60 s), so the client always closes first: with Node's
 * 5 s default, a request sent on a connection the server is closing at that moment fails with
 * ECONNRESET. headersTimeout must exceed keepAliveTimeout.
 */
export const KEEP_ALIVE_MS = 65_000;

export function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  });
}
