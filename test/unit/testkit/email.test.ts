import { capText, parseEmail, unfoldHeaders } from '../../../testkit/corpus/email';
import { classificationInput, splitOf, toSpamExample } from '../../../testkit/corpus/spamCorpus';

describe('parseEmail', () => {
  it('splits headers from the body at the first blank line and keeps the raw subject', () => {
    const raw = 'From a@b.c  Thu Aug 22 2002\nSubject: Hello there\nTo: x@y.z\n\nFirst line.\n\nSecond paragraph.\n';
    expect(parseEmail(raw)).toEqual({ subject: 'Hello there', body: 'First line.\n\nSecond paragraph.' });
  });

  it('unfolds a subject continued on the next header line', () => {
    const raw = 'Subject: a long\n\tsubject line\nFrom: x\n\nbody';
    expect(parseEmail(raw).subject).toBe('a long subject line');
  });

  it('normalises CRLF and matches the header name case-insensitively', () => {
    expect(parseEmail('SUBJECT: Shouting\r\nX: y\r\n\r\nbody text\r\n')).toEqual({
      subject: 'Shouting',
      body: 'body text',
    });
  });

  it('takes the first Subject header, not one quoted in the body', () => {
    expect(parseEmail('Subject: real\n\nSubject: quoted').subject).toBe('real');
  });

  it('returns an empty subject and body when there are none', () => {
    expect(parseEmail('From: x\nTo: y')).toEqual({ subject: '', body: '' });
    expect(parseEmail('From: x\nSubject:   \n\nbody').subject).toBe('');
  });

  it('leaves MIME-encoded subjects and HTML as they are', () => {
    const parsed = parseEmail('Subject: =?iso-8859-1?Q?caf=E9?=\n\n<html><b>hi</b></html>');
    expect(parsed).toEqual({ subject: '=?iso-8859-1?Q?caf=E9?=', body: '<html><b>hi</b></html>' });
  });

  it('caps the body, trimmed, at the configured length', () => {
    const body = `  ${'word '.repeat(2000)}`;
    const parsed = parseEmail(`Subject: s\n\n${body}`, 4000);
    expect(parsed.body.length).toBeLessThanOrEqual(4000);
    expect(parsed.body.startsWith('word')).toBe(true);
    expect(parsed.body.endsWith(' ')).toBe(false);
  });
});

describe('capText', () => {
  it('never leaves half of a surrogate pair at the cut', () => {
    expect(capText('ab😀cd', 3)).toBe('ab');
    expect(capText('ab😀cd', 4)).toBe('ab😀');
    expect(capText('short', 10)).toBe('short');
  });
});

describe('unfoldHeaders', () => {
  it('joins continuation lines to their header', () => {
    expect(unfoldHeaders('A: 1\n  2\nB: 3')).toEqual(['A: 1 2', 'B: 3']);
  });
});

describe('corpus examples', () => {
  const raw = {
    id: '00001',
    group: 'hard-ham-1' as const,
    checksum: { type: 'MD5', value: 'abc123' },
    text: 'Subject: Hi\n\nHello',
  };

  it('builds a stable id from group, file number and checksum, and tags by group', () => {
    const example = toSpamExample(raw);
    expect(example).toMatchObject({
      id: 'hard-ham-1/00001.abc123',
      tag: 'hard-ham',
      label: 'ham',
      subject: 'Hi',
      body: 'Hello',
    });
    expect(toSpamExample({ ...raw, group: 'spam-2' })).toMatchObject({ tag: 'spam', label: 'spam' });
    expect(toSpamExample({ ...raw, group: 'easy-ham-2' })).toMatchObject({ tag: 'easy-ham', label: 'ham' });
  });

  it('splits by a hash of group and id, the same on every call', () => {
    expect(splitOf('spam-1', '00042')).toBe(splitOf('spam-1', '00042'));
    const splits = Array.from({ length: 2000 }, (_, i) => splitOf('easy-ham-1', String(i).padStart(5, '0')));
    const train = splits.filter((s) => s === 'train').length / splits.length;
    expect(train).toBeGreaterThan(0.66);
    expect(train).toBeLessThan(0.74);
  });

  it('shows a classifier the subject and the body', () => {
    expect(classificationInput({ subject: 'Hi', body: 'Hello' })).toBe('Subject: Hi\n\nHello');
  });
});
