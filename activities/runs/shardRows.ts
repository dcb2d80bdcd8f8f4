import { ApplicationFailure } from '@temporalio/activity';

const NEWLINE = 0x0a;

/**
 * A dataset shard's JSONL, kept as the bytes read from object storage and parsed a
 * part at a time. Parsing the whole shard up front held every row of it on the heap
 * for the shard's lifetime (the young generation copied them at each collection) and
 * stalled the event loop — and with it every model call in flight — for tens of
 * milliseconds whenever a shard started.
 */
export class ShardRows {
  /** Start and end (exclusive) of each non-empty line. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(
    private readonly bytes: Buffer,
    private readonly objectKey: string,
  ) {
    for (let start = 0; start < bytes.length;) {
      let end = bytes.indexOf(NEWLINE, start);
      if (end < 0) end = bytes.length;
      if (end > start) {
        this.starts.push(start);
        this.ends.push(end);
      }
      start = end + 1;
    }
  }

  get length(): number {
    return this.starts.length;
  }

  /** Rows [from, to) as objects. */
  slice(from: number, to: number): Record<string, any>[] {
    const rows: Record<string, any>[] = [];
    for (let i = from; i < Math.min(to, this.length); i++) rows.push(this.row(i));
    return rows;
  }

  /** Row i as an object. A line that is not JSON means the stored shard is damaged: the run cannot succeed. */
  row(i: number): Record<string, any> {
    try {
      return JSON.parse(this.bytes.toString('utf8', this.starts[i], this.ends[i])) as Record<string, any>;
    } catch (err) {
      throw ApplicationFailure.create({
        type: 'dataset_unreadable',
        nonRetryable: true,
        message: `dataset shard ${this.objectKey} row ${i + 1} is not JSON (${(err as Error).message}); the stored shard is damaged`,
      });
    }
  }
}
