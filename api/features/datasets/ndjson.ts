import { AppError } from '../../../common/errors';

/**
 * Splits a byte stream into lines without holding more than one line (plus one chunk)
 * in memory. A line longer than `maxLineBytes` is refused as soon as it is seen.
 */
export async function* ndjsonLines(
  body: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
  maxTotalBytes = Infinity,
): AsyncGenerator<{ lineNo: number; text: string }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let totalBytes = 0;
  let lineNo = 0;
  const tooLong = () =>
    new AppError(
      413,
      'payload_too_large',
      `line ${lineNo + 1} is longer than the row limit of ${maxLineBytes} bytes`,
      `rows[${lineNo}]`,
    );
  for await (const raw of body) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    totalBytes += chunk.length;
    if (totalBytes > maxTotalBytes)
      throw new AppError(
        413,
        'payload_too_large',
        `the upload is larger than the limit of ${maxTotalBytes} bytes; split the dataset or raise EVALGATE_MAX_UPLOAD_BYTES`,
        'body',
      );
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (pendingBytes + piece.length > maxLineBytes) throw tooLong();
      const line = pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      lineNo += 1;
      yield { lineNo, text: line.toString('utf8') };
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pendingBytes += rest.length;
      if (pendingBytes > maxLineBytes) throw tooLong();
      pending.push(Buffer.from(rest)); // copy: the chunk's memory may be reused
    }
  }
  if (pendingBytes > 0) {
    lineNo += 1;
    yield { lineNo, text: Buffer.concat(pending).toString('utf8') };
  }
}
