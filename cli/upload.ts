/**
 * Streams a JSONL file to a dataset's versions endpoint: the file is read in chunks as the
 * request body is sent, so memory stays bounded however many rows it has. Progress is a
 * bar redrawn in place on a terminal, and a plain line every 10% in a log. A bad line is
 * refused by the API with its number; the refusal is reported as `<file>:<line>: <field>`.
 */
import { createReadStream, statSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { ApiRefusal, CliFailure, query, type Api } from './http';
import type { Output } from './output';
import { progressBar } from './progress';

export interface VersionOptions {
  labelPolicy: string;
  visibility?: string;
  teams?: string[];
  classification?: string;
}

export interface UploadedVersion {
  datasetId: string;
  version: number;
  contentHash: string;
  rowCount: number;
  created: boolean;
}

const CHUNK_BYTES = 256 * 1024;

/** The file as a stream that reports how much of it has been read (and so sent: the pipe has backpressure). */
function fileStream(file: string, onRead: (sent: number) => void): Readable {
  let sent = 0;
  return createReadStream(file, { highWaterMark: CHUNK_BYTES }).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        onRead(sent);
        done(null, chunk);
      },
    }),
  );
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function progressReporter(total: number, out: Output, interactive: boolean, label: string) {
  const bar = progressBar(out, interactive, label, (sent, _total, onTerminal) =>
    onTerminal ? `${mb(sent)}/${mb(total)}` : `${mb(sent)} of ${mb(total)}`,
  );
  return { update: (sent: number) => bar.update(sent, total), done: () => bar.done() };
}

/** Where a dataset-row refusal points: `rows[41].label` is line 42 of the file. */
export function rowLocation(field: string | undefined): { line: number; field: string } | undefined {
  const m = /^rows\[(\d+)\](?:\.(.+))?$/.exec(field ?? '');
  return m ? { line: Number(m[1]) + 1, field: m[2] ?? 'row' } : undefined;
}

export async function uploadVersion(
  api: Api,
  datasetId: string,
  file: string,
  options: VersionOptions,
  out: Output,
  interactive: boolean,
  showProgress = true,
): Promise<UploadedVersion> {
  let total: number;
  try {
    total = statSync(file).size;
  } catch (err) {
    throw new CliFailure(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
  const progress = showProgress
    ? progressReporter(total, out, interactive, `uploading ${file}`)
    : { update: () => undefined, done: () => undefined };
  const body = fileStream(file, (sent) => progress.update(sent));
  const path = `/v1/datasets/${encodeURIComponent(datasetId)}/versions${query({
    labelPolicy: options.labelPolicy,
    visibility: options.visibility,
    teams: options.teams?.join(','),
    classification: options.classification,
  })}`;
  try {
    const { status, body: version } = await api.postNdjson(path, body);
    progress.done();
    return { ...version, datasetId, created: status === 201 };
  } catch (err) {
    progress.done();
    body.destroy();
    const at = err instanceof ApiRefusal ? rowLocation(err.field) : undefined;
    if (err instanceof ApiRefusal && at)
      throw new CliFailure(
        `${file}:${at.line}: ${at.field}: ${err.message.replace(/^line \d+: /, '').replace(`${at.field}: `, '')}`,
        2,
      );
    throw err;
  }
}
