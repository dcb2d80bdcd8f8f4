/**
 * GET /metrics for Prometheus, behind a credential (docs/decisions/authorization.md): the
 * dedicated scrape token (EVALGATE_METRICS_TOKEN) or a platform admin's API key; anyone else
 * gets 401/403. Series carry no run ids or suite names, and the text is rendered at most once
 * per EVALGATE_METRICS_CACHE_MS, so any number of scrapers costs PostgreSQL one round of queries.
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import type { Config } from '../../../common/config';
import { AppError } from '../../../common/errors';
import { isPlatformAdmin } from '../../../domain/access/policy';
import type { PrincipalService } from '../principals/service';

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export function metricsScrape(deps: {
  registry: Registry;
  config: Pick<Config, 'EVALGATE_METRICS_TOKEN' | 'EVALGATE_METRICS_CACHE_MS'>;
  principals: PrincipalService;
}) {
  let rendered: { at: number; text: Promise<string> } | undefined;
  const render = () => {
    const ttl = deps.config.EVALGATE_METRICS_CACHE_MS;
    if (!rendered || Date.now() - rendered.at >= ttl) {
      const text = deps.registry.metrics();
      rendered = { at: Date.now(), text };
      text.catch(() => (rendered = undefined)); // a failed render is not kept
    }
    return rendered.text;
  };

  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const key = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
      if (!key)
        throw new AppError(
          401,
          'unauthenticated',
          'send the metrics token or an API key as "Authorization: Bearer <key>"',
        );
      const token = deps.config.EVALGATE_METRICS_TOKEN;
      if (!(token && sameSecret(key, token))) {
        const principal = await deps.principals.authenticate(key);
        if (!principal) throw new AppError(401, 'unauthenticated', 'the key is invalid or revoked');
        if (!isPlatformAdmin(principal))
          throw new AppError(
            403,
            'forbidden',
            'metrics are for the scrape token (EVALGATE_METRICS_TOKEN) or a platform admin',
          );
      }
      const text = await render();
      res.setHeader('Content-Type', deps.registry.contentType);
      res.send(text);
    } catch (err) {
      next(err);
    }
  };
}
