import { heldoutExamples, loadSpamCorpus, trainExamples } from '../../../testkit/corpus/spamCorpus';
import {
  classificationRows,
  datasetJsonl,
  datasetJsonlStream,
  generationRows,
} from '../../../testkit/corpus/writeDatasets';

// Reads the corpus shipped in node_modules (~0.5 s): no services involved.
describe('SpamAssassin datasets', () => {
  it('splits the 6,046 emails about 70/30 with no overlap', () => {
    const all = loadSpamCorpus();
    const train = trainExamples();
    const heldout = heldoutExamples();
    expect(all).toHaveLength(6046);
    expect(train.length + heldout.length).toBe(6046);
    expect(train.length / all.length).toBeCloseTo(0.7, 1);
    const trainIds = new Set(train.map((e) => e.id));
    expect(heldout.some((e) => trainIds.has(e.id))).toBe(false);
    expect(new Set(all.map((e) => e.id)).size).toBe(6046);
  });

  it('writes classification rows in the registry shape, with every tag represented', () => {
    const rows = [...classificationRows()];
    expect(rows).toHaveLength(heldoutExamples().length);
    expect(Object.keys(rows[0]).sort()).toEqual(['id', 'input', 'label', 'tags']);
    expect(rows[0].id).toMatch(/^(easy-ham-[12]|hard-ham-1|spam-[12])\/\d{5}\.[0-9a-f]{32}$/);
    expect(new Set(rows.map((r) => r.tags[0]))).toEqual(new Set(['easy-ham', 'hard-ham', 'spam']));
    for (const row of rows) expect(row.label === 'spam').toBe(row.tags[0] === 'spam');
    expect(Math.max(...rows.map((r) => r.input.length))).toBeLessThanOrEqual(4000 + 1000);
  });

  it('writes generation rows only for emails with a subject and a body', () => {
    const rows = [...generationRows({ limit: 300 })];
    expect(rows).toHaveLength(300);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(['id', 'input', 'reference', 'tags']);
      expect(row.reference.trim()).not.toBe('');
      expect(row.input.length).toBeLessThanOrEqual(4000);
    }
  });

  it('filters by tag and limit, and streams the same JSONL it returns as a string', async () => {
    const options = { tags: ['hard-ham'] as const, limit: 5 };
    const text = datasetJsonl('classification', { ...options, tags: [...options.tags] });
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { tags: string[] });
    expect(lines).toHaveLength(5);
    expect(lines.every((row) => row.tags[0] === 'hard-ham')).toBe(true);
    let streamed = '';
    for await (const chunk of datasetJsonlStream('classification', { ...options, tags: [...options.tags] }))
      streamed += String(chunk);
    expect(streamed).toBe(text);
  });
});
