/**
 * The corpus as evalgate dataset rows (see API.md "Registry" row shapes), as
 * generators for the demo to stream straight into an upload, and as a CLI that
 * writes JSONL files:
 *
 *   npx tsx testkit/corpus/writeDatasets.ts <outDir> [--split heldout|train|all]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { classificationInput, examplesOf, type SpamLabel, type SpamTag, type Split } from './spamCorpus';

export interface ClassificationRow {
  id: string;
  input: string;
  label: SpamLabel;
  tags: SpamTag[];
}

export interface GenerationRow {
  id: string;
  input: string;
  reference: string;
  tags: SpamTag[];
}

export type DatasetKind = 'classification' | 'generation';

export interface RowOptions {
  /** Which split to draw from; default `heldout`. */
  split?: Split | 'all';
  /** Only rows carrying one of these tags. */
  tags?: readonly SpamTag[];
  /** Stop after this many rows (corpus order). */
  limit?: number;
}

function* selected<T extends { tag: SpamTag }>(items: Iterable<T>, options: RowOptions): Generator<T> {
  let emitted = 0;
  const limit = options.limit ?? Infinity;
  for (const item of items) {
    if (emitted >= limit) return;
    if (options.tags && !options.tags.includes(item.tag)) continue;
    emitted++;
    yield item;
  }
}

/** Spam/ham rows `{ id, input, label, tags: [tag] }`; `input` is `Subject: …` + blank line + body. */
export function* classificationRows(options: RowOptions = {}): Generator<ClassificationRow> {
  for (const example of selected(examplesOf(options.split ?? 'heldout'), options)) {
    yield { id: example.id, input: classificationInput(example), label: example.label, tags: [example.tag] };
  }
}

/** Subject-line generation rows `{ id, input: body, reference: subject, tags }`, for emails with a subject and a body. */
export function* generationRows(options: RowOptions = {}): Generator<GenerationRow> {
  const usable = examplesOf(options.split ?? 'heldout').filter(
    (example) => example.subject !== '' && example.body !== '',
  );
  for (const example of selected(usable, options)) {
    yield { id: example.id, input: example.body, reference: example.subject, tags: [example.tag] };
  }
}

export function datasetRows(kind: DatasetKind, options: RowOptions = {}): Generator<ClassificationRow | GenerationRow> {
  return kind === 'classification' ? classificationRows(options) : generationRows(options);
}

function* jsonLines(rows: Iterable<object>): Generator<string> {
  for (const row of rows) yield `${JSON.stringify(row)}\n`;
}

/** The dataset as a stream of JSONL text, ready to be a `application/x-ndjson` request body. */
export function datasetJsonlStream(kind: DatasetKind, options: RowOptions = {}): Readable {
  return Readable.from(jsonLines(datasetRows(kind, options)));
}

/** The dataset as one JSONL string (convenient for small limits). */
export function datasetJsonl(kind: DatasetKind, options: RowOptions = {}): string {
  return [...jsonLines(datasetRows(kind, options))].join('');
}

export const DATASET_FILES: Record<DatasetKind, (split: string) => string> = {
  classification: (split) => `spam-${split}.classification.jsonl`,
  generation: (split) => `subjects-${split}.generation.jsonl`,
};

export function writeDatasets(
  outDir: string,
  split: Split | 'all' = 'heldout',
): Record<DatasetKind, { path: string; rows: number }> {
  mkdirSync(outDir, { recursive: true });
  const written = {} as Record<DatasetKind, { path: string; rows: number }>;
  for (const kind of ['classification', 'generation'] as const) {
    const lines = [...jsonLines(datasetRows(kind, { split }))];
    const path = join(outDir, DATASET_FILES[kind](split));
    writeFileSync(path, lines.join(''));
    written[kind] = { path, rows: lines.length };
  }
  return written;
}

function main(argv: string[]): void {
  const args = argv.slice(2);
  const splitFlag = args.indexOf('--split');
  const split = splitFlag >= 0 ? args.splice(splitFlag, 2)[1] : 'heldout';
  if (args.length !== 1 || !['train', 'heldout', 'all'].includes(split)) {
    process.stderr.write('usage: npx tsx testkit/corpus/writeDatasets.ts <outDir> [--split heldout|train|all]\n');
    process.exit(2);
  }
  const written = writeDatasets(args[0], split as Split | 'all');
  for (const { path, rows } of Object.values(written)) process.stdout.write(`${path}\t${rows} rows\n`);
}

if (require.main === module) main(process.argv);
