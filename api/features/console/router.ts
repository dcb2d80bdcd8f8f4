/**
 * The web console and the API's own description, both served without a key:
 * - GET /v1/openapi.json — the OpenAPI 3.1 document of every route (api/http/openapi.ts);
 * - GET /ui/… — the HTML shell of the console, its script and its style sheet. The console is a
 *   client of the public API like any other: the shell holds no data; the page asks for a key
 *   once, keeps it in sessionStorage and sends it as a Bearer token (docs/decisions/console.md).
 *
 * The console's TypeScript (ui/) is bundled by esbuild in this process, once, on the first
 * request for it: a fresh clone needs no build step, and the bundle takes ~100 ms.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Router, type Express } from 'express';
import { build } from 'esbuild';
import { openApiDocument, servedRoutes } from '../../http/openapi';

/** The console's sources: beside api/ in a checkout (tsx), two levels further up from dist/api/ (compiled). */
const UI_DIR =
  [path.resolve(__dirname, '../../../ui'), path.resolve(__dirname, '../../../../ui')].find((dir) =>
    existsSync(path.join(dir, 'main.ts')),
  ) ?? path.resolve(__dirname, '../../../ui');

const shell = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>evalgate</title>
<link rel="stylesheet" href="/ui/assets/console.css">
<script type="module" src="/ui/assets/console.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a href="/ui/" class="brand">evalgate</a><nav id="nav" aria-label="Sections"></nav></header>
<main id="main" tabindex="-1"><p>Loading…</p></main>
</body>
</html>
`;

let bundle: Promise<string> | undefined;

/** The console's script: ui/main.ts and what it imports, as one ES module. */
function consoleBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [path.join(UI_DIR, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0].text);
  bundle.catch(() => (bundle = undefined)); // a failed build is retried on the next request
  return bundle;
}

/**
 * `app` is the whole application, read when the document is first asked for, so the
 * document lists the routes mounted after this router too. Routes of `publicRouters`
 * (and this one) are marked as needing no key.
 */
export function consoleRouter(app: Express, version: string, publicRouters: readonly unknown[]): Router {
  // Strict: /ui and /ui/ are different routes (the first redirects to the second).
  const router = Router({ strict: true });
  let document: ReturnType<typeof openApiDocument> | undefined;

  router.get('/v1/openapi.json', (_req, res) => {
    document ??= openApiDocument(servedRoutes(app, [...publicRouters, router]), version);
    res.json(document);
  });

  router.get('/ui/assets/console.js', async (_req, res, next) => {
    try {
      res
        .type('text/javascript')
        .setHeader('Cache-Control', 'no-cache')
        .send(await consoleBundle());
    } catch (err) {
      next(err);
    }
  });

  router.get('/ui/assets/console.css', async (_req, res, next) => {
    try {
      res
        .type('text/css')
        .setHeader('Cache-Control', 'no-cache')
        .send(await readFile(path.join(UI_DIR, 'console.css')));
    } catch (err) {
      next(err);
    }
  });

  router.get('/ui', (_req, res) => res.redirect(301, '/ui/'));
  // Every page of the console is the same shell: the script reads the path and the query.
  router.get(['/ui/', '/ui/*page'], (_req, res) => {
    res
      .type('text/html')
      .set({
        'Cache-Control': 'no-cache',
        // Only the console's own script and style run; nothing inline, nothing from elsewhere; not framed.
        'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      })
      .send(shell);
  });

  return router;
}
