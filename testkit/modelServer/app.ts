/**
 * The Express app of the reference model server: the two model protocols evalgate
 * speaks (json-predict and openai-chat), a model list, health, and admin routes for
 * knobs and counters. Kept cheap per request: models are pre-trained, no per-request
 * logging, latency is a timer.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { FaultInjector, knobsPatchSchema } from './knobs';
import { injectedVerdict, judge, parseJudgePrompt } from './models/judge';
import type { ModelCatalog, ServedModel } from './models/catalog';
import { estimateTokens } from './models/text';
import { contentText, extractModelInput } from './prompt';
import { StatsRecorder, type ModelRoute } from './stats';

export interface ModelAppDeps {
  catalog: ModelCatalog;
  faults: FaultInjector;
  stats: StatsRecorder;
  logger: Logger;
}

const predictBodySchema = z.looseObject({ id: z.union([z.string(), z.number()]).optional(), input: z.string() });

const chatContentSchema = z.union([
  z.string(),
  z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
]);
const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(z.looseObject({ role: z.string(), content: chatContentSchema.nullable().optional() })).min(1),
  temperature: z.number().min(0).max(2).optional(),
  seed: z.number().int().optional(),
  max_tokens: z.number().int().min(1).optional(),
});
type ChatRequest = z.infer<typeof chatRequestSchema>;

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The hot routes write JSON straight to the socket and read bodies with this lean
 * reader rather than express.json(): at a few thousand calls a second the content
 * negotiation and charset handling of the general-purpose path is most of the cost.
 */
function sendJson(res: Response, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Errors in OpenAI's shape, which json-predict clients parse just as well. */
function sendError(res: Response, status: number, type: string, message: string, code: string | null = null): void {
  sendJson(res, status, { error: { message, type, code } });
}

const readJsonBody: RequestHandler = (req, res, next) => {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else if (!tooLarge) chunks.push(chunk);
  });
  req.once('error', next);
  req.once('end', () => {
    if (tooLarge) return sendError(res, 413, 'invalid_request_error', 'request body too large', 'payload_too_large');
    const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
    try {
      req.body = text === '' ? undefined : JSON.parse(text);
    } catch {
      return sendError(res, 400, 'invalid_request_error', 'request body is not valid JSON', 'invalid_json');
    }
    next();
  });
};

const firstIssue = (error: z.ZodError): string => {
  const issue = error.issues[0];
  return `${issue.path.join('.') || 'body'}: ${issue.message}`;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function buildModelApp({ catalog, faults, stats, logger }: ModelAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const createdAt = Math.floor(Date.now() / 1000);
  let completionSeq = 0;

  /** Counts the call and records how it ended, whatever the route does. */
  const arrive =
    (route: ModelRoute): RequestHandler =>
    (_req, res, next) => {
      stats.arrived(route);
      if (faults.knobs.recordArrivals) res.locals.arrivedAt = performance.timeOrigin + performance.now();
      res.once('close', () => {
        if (res.writableFinished) stats.finished(String(res.statusCode));
        else stats.finished(res.locals.reset ? 'reset' : 'aborted');
      });
      next();
    };

  /** Down and latency knobs. Returns true when the call has been dealt with. */
  async function outage(req: Request, res: Response, model: string | undefined): Promise<boolean> {
    if (!faults.appliesTo(model)) return false;
    const knobs = faults.knobs;
    if (knobs.down) {
      if (knobs.downMode === 'reset') {
        res.locals.reset = true;
        req.socket.destroy();
      } else {
        sendError(res, 503, 'server_error', 'the model server is down', 'service_unavailable');
      }
      return true;
    }
    const delay = faults.latency();
    if (delay > 0) await sleep(delay);
    return false;
  }

  /** Error and rate-limit knobs; returns the fault left for the route to apply (malformed), if any. */
  function injected(res: Response, model: string): 'malformed' | 'sent' | undefined {
    if (!faults.appliesTo(model)) return undefined;
    const fault = faults.draw();
    if (fault === 'error') {
      sendError(res, 500, 'server_error', 'injected server error', 'injected_error');
      return 'sent';
    }
    if (fault === 'rate_limit') {
      const { retryAfterSeconds, retryAfterMs } = faults.knobs;
      res.setHeader('Retry-After', String(retryAfterSeconds));
      if (retryAfterMs !== null) res.setHeader('retry-after-ms', String(retryAfterMs));
      sendError(res, 429, 'rate_limit_error', 'rate limit reached, retry later', 'rate_limit_exceeded');
      return 'sent';
    }
    return fault;
  }

  function lookup(res: Response, name: string): ServedModel | undefined {
    const model = catalog.models.get(name);
    if (!model) sendError(res, 404, 'invalid_request_error', `the model '${name}' does not exist`, 'model_not_found');
    return model;
  }

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, models: catalog.models.size });
  });

  app.get('/v1/models', (_req, res) => {
    const data = [...catalog.models.values()].map((model) => ({
      id: model.name,
      object: 'model',
      created: createdAt,
      owned_by: 'evalgate-examples',
      task: model.task,
      description: model.description,
    }));
    res.json({ object: 'list', data });
  });

  app.post('/predict/:model', arrive('predict'), readJsonBody, async (req, res) => {
    const name = String(req.params.model);
    stats.model(name);
    if (res.locals.arrivedAt !== undefined)
      stats.arrival(res.locals.arrivedAt as number, name, (req.body as { id?: unknown } | undefined)?.id);
    if (await outage(req, res, name)) return;
    const body = predictBodySchema.safeParse(req.body);
    if (!body.success) return sendError(res, 400, 'invalid_request_error', firstIssue(body.error), 'invalid_body');
    const model = lookup(res, name);
    if (!model) return;
    if (model.task === 'judge') {
      return sendError(
        res,
        400,
        'invalid_request_error',
        `${name} is a judge and speaks openai-chat only`,
        'wrong_protocol',
      );
    }
    const fault = injected(res, name);
    if (fault === 'sent') return;
    const input = body.data.input;
    const output = model.task === 'classification' ? model.classify(input) : { output: model.generate(input) };
    const outputText = 'label' in output ? output.label : output.output;
    const usage = { inputTokens: estimateTokens(input), outputTokens: estimateTokens(outputText) };
    stats.tokens(usage.inputTokens, usage.outputTokens, name);
    if (fault === 'malformed') {
      // Truncated JSON, as from a proxy that cut the connection mid-body.
      const truncated = JSON.stringify({ ...output, usage }).slice(0, 12);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': truncated.length });
      res.end(truncated);
      return;
    }
    sendJson(res, 200, { ...output, usage });
  });

  function chatAnswer(
    model: ServedModel,
    request: ChatRequest,
    prompt: string,
    malformed: boolean,
  ): string | undefined {
    if (model.task === 'judge') {
      const conversation = request.messages.map((message) => contentText(message.content)).join('\n');
      const inputs = parseJudgePrompt(prompt) ?? parseJudgePrompt(conversation);
      if (!inputs) return undefined;
      if (malformed) return 'The candidate reads reasonably well, though I am not sure how it compares.';
      const knobs = faults.knobs;
      const obeyed = knobs.judgeGullible ? injectedVerdict(prompt) : undefined;
      if (obeyed) return obeyed;
      const seedKey = `${knobs.seed}|${request.seed ?? ''}`;
      const verdict = judge(inputs, { noise: knobs.judgeNoise, bias: knobs.judgeBias, seedKey });
      const answer = JSON.stringify({ score: verdict.score, reason: verdict.reason });
      return knobs.judgeEchoes && inputs.output.includes('{')
        ? `The candidate wrote: ${inputs.output}\nMy verdict: ${answer}`
        : answer;
    }
    const input = extractModelInput(prompt);
    if (model.task === 'classification')
      return malformed ? 'Hard to say: it could be either.' : model.classify(input).label;
    return malformed ? '' : model.generate(input);
  }

  app.post('/v1/chat/completions', arrive('chat'), readJsonBody, async (req, res) => {
    const body = chatRequestSchema.safeParse(req.body);
    const rawModel: unknown = (req.body as { model?: unknown } | undefined)?.model;
    const name = body.success ? body.data.model : typeof rawModel === 'string' ? rawModel : '(invalid)';
    stats.model(name);
    if (res.locals.arrivedAt !== undefined) stats.arrival(res.locals.arrivedAt as number, name, undefined);
    if (await outage(req, res, name)) return;
    if (!body.success) return sendError(res, 400, 'invalid_request_error', firstIssue(body.error), 'invalid_body');
    const model = lookup(res, name);
    if (!model) return;
    const request = body.data;
    const lastUser = [...request.messages].reverse().find((message) => message.role === 'user');
    if (!lastUser) return sendError(res, 400, 'invalid_request_error', 'messages: no user message', 'invalid_body');
    const prompt = contentText(lastUser.content);
    const fault = injected(res, name);
    if (fault === 'sent') return;
    let content = chatAnswer(model, request, prompt, fault === 'malformed');
    if (content === undefined) {
      return sendError(
        res,
        400,
        'invalid_request_error',
        `${name} needs <output>…</output> and <reference>…</reference> in the prompt`,
        'judge_prompt',
      );
    }
    let finishReason = 'stop';
    if (request.max_tokens !== undefined && estimateTokens(content) > request.max_tokens) {
      content = content.slice(0, request.max_tokens * 4);
      finishReason = 'length';
    }
    const promptTokens = request.messages.reduce(
      (sum, message) => sum + estimateTokens(contentText(message.content)),
      0,
    );
    const completionTokens = estimateTokens(content);
    stats.tokens(promptTokens, completionTokens, name);
    sendJson(res, 200, {
      id: `chatcmpl-${(++completionSeq).toString(36)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: name,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    });
  });

  app.get('/admin/knobs', (_req, res) => {
    res.json(faults.knobs);
  });
  app.post('/admin/knobs', readJsonBody, (req, res) => {
    const patch = knobsPatchSchema.safeParse(req.body ?? {});
    if (!patch.success) return sendError(res, 400, 'invalid_request_error', firstIssue(patch.error), 'invalid_knobs');
    res.json(faults.update(patch.data));
  });
  app.post('/admin/knobs/reset', (_req, res) => {
    res.json(faults.reset());
  });
  app.get('/admin/stats', (_req, res) => {
    res.json(stats.snapshot());
  });
  app.get('/admin/arrivals', (_req, res) => {
    res.json(stats.arrivals());
  });
  app.post('/admin/stats/reset', (_req, res) => {
    stats.reset();
    res.json(stats.snapshot());
  });

  app.use((_req: Request, res: Response) => sendError(res, 404, 'invalid_request_error', 'no such route', 'not_found'));

  // Anything reaching here is a bug or a broken connection: 500, logged, no internals sent.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err }, 'model server error');
    if (!res.headersSent) sendError(res, 500, 'server_error', 'internal error');
  });

  return app;
}
