/**
 * How the openai-chat protocol recovers the row's input from a rendered prompt.
 *
 * evalgate renders a model version's prompt template (e.g.
 * `Classify this email as ham or spam:\n{{input}}`) and sends it as the last user
 * message. The reference models need the bare input back, so the server strips a
 * leading instruction — and only an instruction — by this documented rule:
 *
 *  1. The first line is an instruction when it starts with one of
 *     INSTRUCTION_WORDS (case-insensitive). Otherwise the whole message is input.
 *  2. An instruction line ending in `:` is followed directly by the input
 *     (blank lines after it are skipped).
 *  3. Any other instruction runs to the first blank line; the input follows it.
 *     Without a blank line, the input is everything after the first line.
 *
 * So `Classify this email as ham or spam:\n{{input}}` and
 * `Write a subject line for this email.\nBe brief.\n\n{{input}}` both give the
 * model exactly `{{input}}`, and it answers as the json-predict route would.
 */

export const INSTRUCTION_WORDS = [
  'classify',
  'label',
  'categorize',
  'categorise',
  'decide',
  'determine',
  'is',
  'does',
  'answer',
  'given',
  'here',
  'read',
  'write',
  'generate',
  'suggest',
  'propose',
  'summarize',
  'summarise',
  'give',
  'predict',
  'please',
] as const;

const INSTRUCTION_LINE = new RegExp(`^(${INSTRUCTION_WORDS.join('|')})\\b`, 'i');

export function extractModelInput(content: string): string {
  const text = content.replace(/\r\n?/g, '\n');
  const firstBreak = text.indexOf('\n');
  if (firstBreak < 0) return text;
  const firstLine = text.slice(0, firstBreak).trim();
  if (!INSTRUCTION_LINE.test(firstLine)) return text;
  const leadingBlankLines = /^(?:[ \t]*\n)+/;
  if (firstLine.endsWith(':')) return text.slice(firstBreak + 1).replace(leadingBlankLines, '');
  const blank = text.search(/\n[ \t]*\n/);
  if (blank < 0) return text.slice(firstBreak + 1);
  return text.slice(blank + 1).replace(leadingBlankLines, '');
}

export type ChatContent = string | readonly { type: string; text?: string }[];

/** Text of a message content in either OpenAI form: a string or an array of parts. */
export function contentText(content: ChatContent | null | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('');
}
