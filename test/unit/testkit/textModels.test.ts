import {
  cutAtWord,
  leadSubject,
  trainTfIdfGenerator,
  visibleText,
} from '../../../testkit/modelServer/models/generators';
import { keywordHits, keywordSpamProbability } from '../../../testkit/modelServer/models/keywords';
import { trainLogisticRegression } from '../../../testkit/modelServer/models/logisticRegression';
import { estimateTokens, hash32, mulberry32, tokenize } from '../../../testkit/modelServer/models/text';

describe('tokenize', () => {
  it('lower-cases, splits on punctuation and keeps contractions', () => {
    expect(tokenize("Don't MISS the Re-Launch, 2002 edition")).toEqual([
      "don't",
      'miss',
      'the',
      're',
      'launch',
      '2002',
      'edition',
    ]);
  });

  it('keeps $ and ! as tokens of their own', () => {
    expect(tokenize('WIN $$$ now!!')).toEqual(['win', '$', '$', '$', 'now', '!', '!']);
  });

  it('drops over-long tokens such as base64 runs', () => {
    expect(tokenize(`a ${'Q'.repeat(60)} b`)).toEqual(['a', 'b']);
  });

  it('returns nothing for text without words', () => {
    expect(tokenize('  ... --- ')).toEqual([]);
  });
});

describe('hashing and randomness', () => {
  it('is stable and spreads the low bits', () => {
    expect(hash32('abc')).toBe(hash32('abc'));
    const lowBits = Array.from({ length: 1000 }, (_, i) => hash32(`key${i}`) % 2);
    const ones = lowBits.filter((bit) => bit === 1).length;
    expect(ones).toBeGreaterThan(420);
    expect(ones).toBeLessThan(580);
  });

  it('replays the same sequence for the same seed', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });

  it('estimates tokens as ceil(chars / 4)', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('spam')).toBe(1);
    expect(estimateTokens('hello')).toBe(2);
  });
});

describe('logistic regression', () => {
  const docs = [
    ...Array.from({ length: 40 }, (_, i) => ({ tokens: ['cheap', 'pills', `n${i}`], positive: true })),
    ...Array.from({ length: 40 }, (_, i) => ({ tokens: ['meeting', 'notes', `n${i}`], positive: false })),
  ];

  it('separates a separable toy problem', () => {
    const model = trainLogisticRegression(docs, { seed: 1, epochs: 10 });
    expect(model.probability(['cheap', 'pills'])).toBeGreaterThan(0.8);
    expect(model.probability(['meeting', 'notes'])).toBeLessThan(0.2);
  });

  it('trains to identical weights with the same seed', () => {
    const a = trainLogisticRegression(docs, { seed: 3 });
    const b = trainLogisticRegression(docs, { seed: 3 });
    expect(a.logOdds(['cheap', 'notes', 'x'])).toBe(b.logOdds(['cheap', 'notes', 'x']));
  });
});

describe('keyword rules', () => {
  it('counts distinct whole-word keywords only', () => {
    expect(keywordHits('FREE money, free money').hits).toBe(2);
    expect(keywordHits('freedom and moneyless').hits).toBe(0);
    expect(keywordHits('act now for a risk free offer').matched).toEqual(
      expect.arrayContaining(['act now', 'risk free', 'offer', 'free']),
    );
  });

  it('puts the 0.5 boundary between one and two hits', () => {
    expect(keywordSpamProbability('free')).toBeLessThan(0.5);
    expect(keywordSpamProbability('free money')).toBeGreaterThan(0.5);
  });
});

describe('subject generators', () => {
  it('lead: first sentence of the visible text, cut at a word boundary', () => {
    expect(leadSubject('Hello team. More text follows.')).toBe('Hello team.');
    expect(leadSubject('<html><p>Big &nbsp; news!</p> rest</html>')).toBe('Big news!');
    expect(leadSubject('> quoted reply\nMy answer is yes')).toBe('My answer is yes');
    const long = leadSubject('word '.repeat(40));
    expect(long.length).toBeLessThanOrEqual(60);
    expect(long.endsWith('word')).toBe(true);
  });

  it('cutAtWord leaves short text alone', () => {
    expect(cutAtWord('short', 60)).toBe('short');
  });

  it('visibleText drops tags, scripts and MIME boilerplate lines', () => {
    expect(visibleText('<script>x()</script>Content-Type: text/html\nhi').replace(/\s+/g, ' ').trim()).toBe('hi');
  });

  it('tf-idf: ranks words frequent here and rare elsewhere, ties alphabetically', () => {
    const generator = trainTfIdfGenerator(['linux kernel release', 'linux meeting', 'linux party'], 2);
    expect(generator.idf('linux')).toBeCloseTo(Math.log(4 / 4) + 1, 12);
    expect(generator.idf('kernel')).toBeCloseTo(Math.log(4 / 2) + 1, 12);
    expect(generator.generate('kernel kernel linux release the and')).toBe('kernel release');
    expect(generator.generate('zebra yak')).toBe('yak zebra');
  });
});
