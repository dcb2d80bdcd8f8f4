import express, { type RequestHandler } from 'express';
import { AppError } from '../../common/errors';

/** Deepest JSON nesting a request body may have; deeper bodies are refused before they are parsed. */
export const MAX_JSON_DEPTH = 32;

/**
 * Nesting depth of JSON text, counted over the raw bytes without recursion ({ and [ outside strings), so a
 * body of a million brackets costs one pass and never reaches JSON.parse, zod or PostgreSQL's jsonb
 * parser (each of which recurses).
 */
export function jsonDepthExceeds(text: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** express.json with a size limit and a nesting limit; both answer 4xx with the API's error codes. */
export function jsonBody(limit: string, maxDepth = MAX_JSON_DEPTH): RequestHandler {
  return express.json({
    limit,
    verify: (_req, _res, raw) => {
      if (jsonDepthExceeds(raw, maxDepth))
        throw new AppError(400, 'invalid_request', `request body is nested deeper than ${maxDepth} levels`);
    },
  });
}
