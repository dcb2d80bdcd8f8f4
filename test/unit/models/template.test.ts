import {
  compileTemplate,
  DEFAULT_PROMPT_TEMPLATES,
  renderTemplate,
  templateFields,
} from '../../../domain/models/template';

describe('renderTemplate', () => {
  it('fills the documented placeholders from the row', () => {
    const row = { input: 'Win money now', query: 'q', reference: 'ref', rubric: 'be brief', output: 'out' };
    expect(renderTemplate('Classify:\n{{input}}', row)).toBe('Classify:\nWin money now');
    expect(renderTemplate('{{query}}|{{reference}}|{{rubric}}|{{output}}', row)).toBe('q|ref|be brief|out');
  });

  it('fills any top-level row field, and allows spaces inside the braces', () => {
    expect(renderTemplate('Lang: {{ language }}; id={{id}}', { id: 'r1', language: 'fr' })).toBe('Lang: fr; id=r1');
  });

  it('renders numbers and booleans as text', () => {
    expect(renderTemplate('{{n}} {{flag}} {{zero}}', { n: 2.5, flag: false, zero: 0 })).toBe('2.5 false 0');
  });

  it('renders objects and arrays as canonical JSON with sorted keys', () => {
    const row = { input: { subject: 'hi', body: 'text', meta: { z: 1, a: [2, 'x'] } } };
    expect(renderTemplate('{{input}}', row)).toBe('{"body":"text","meta":{"a":[2,"x"],"z":1},"subject":"hi"}');
    const reordered = { input: { meta: { a: [2, 'x'], z: 1 }, subject: 'hi', body: 'text' } };
    expect(renderTemplate('{{input}}', reordered)).toBe(renderTemplate('{{input}}', row));
    expect(renderTemplate('{{candidates}}', { candidates: [{ text: 'b', docId: 'd1' }] })).toBe(
      '[{"docId":"d1","text":"b"}]',
    );
  });

  it('renders a missing, undefined or null field as the empty string', () => {
    expect(renderTemplate('[{{rubric}}][{{a}}][{{b}}]', { a: undefined, b: null })).toBe('[][][]');
  });

  it('does not read inherited properties', () => {
    expect(renderTemplate('{{constructor}}{{toString}}{{__proto__}}', {})).toBe('');
  });

  it('leaves anything that is not {{identifier}} as text', () => {
    const template = '{{a.b}} {{ }} {single} {{1x}} {{{input}}}';
    expect(renderTemplate(template, { input: 'I', a: { b: 1 } })).toBe('{{a.b}} {{ }} {single} {{1x}} {I}');
  });

  it('fills every occurrence of a repeated field', () => {
    expect(renderTemplate('{{x}}-{{x}}-{{x}}', { x: 'y' })).toBe('y-y-y');
  });

  it('does not interpret $ patterns in values', () => {
    expect(renderTemplate('{{input}}', { input: "costs $& or $1 or $'" })).toBe("costs $& or $1 or $'");
  });

  it('compiles a template once and reuses it', () => {
    const template = 'Cached {{input}} template';
    expect(compileTemplate(template)).toBe(compileTemplate(template));
    expect(compileTemplate(template)).toEqual({ texts: ['Cached ', ' template'], fields: ['input'] });
  });

  it('lists the distinct fields a template uses', () => {
    expect(templateFields('{{input}} {{reference}} {{input}}')).toEqual(['input', 'reference']);
    expect(templateFields('no fields')).toEqual([]);
  });

  it('has a default prompt per task type', () => {
    expect(renderTemplate(DEFAULT_PROMPT_TEMPLATES.classification, { id: '1', input: 'x' })).toBe('x');
    expect(renderTemplate(DEFAULT_PROMPT_TEMPLATES.ranking, { query: 'q', candidates: [{ docId: 'a' }] })).toBe(
      'q\n\n[{"docId":"a"}]',
    );
  });
});
