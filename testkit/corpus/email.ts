/**
 * A deliberately plain RFC 822 reader for the SpamAssassin corpus: split the
 * header block from the body at the first blank line, unfold headers, keep the
 * raw Subject. MIME parts, encoded words and HTML are left as they are — the
 * models see what a naive mail pipeline would see.
 */

export const MAX_BODY_CHARS = 4000;

export interface ParsedEmail {
  subject: string;
  body: string;
}

/** Cuts `text` to at most `max` UTF-16 units without leaving half a surrogate pair. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut;
}

/** Header lines with continuation lines (starting with space or tab) joined to their header. */
export function unfoldHeaders(headerBlock: string): string[] {
  const lines: string[] = [];
  for (const line of headerBlock.split('\n')) {
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`;
    else lines.push(line);
  }
  return lines;
}

export function parseEmail(raw: string, maxBodyChars = MAX_BODY_CHARS): ParsedEmail {
  const text = raw.replace(/\r\n?/g, '\n');
  const split = text.indexOf('\n\n');
  const headerBlock = split < 0 ? text : text.slice(0, split);
  const rawBody = split < 0 ? '' : text.slice(split + 2);
  let subject = '';
  for (const line of unfoldHeaders(headerBlock)) {
    const match = /^subject:(.*)$/i.exec(line);
    if (match) {
      subject = match[1].replace(/\s+/g, ' ').trim();
      break;
    }
  }
  return { subject, body: capText(rawBody.trim(), maxBodyChars).trimEnd() };
}
