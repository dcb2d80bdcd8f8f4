/** A tiny element builder: text goes in as text nodes (never as HTML), so API data cannot inject markup. */
export type Child = Node | string | number | null | undefined | false;
type Attr = string | number | boolean | undefined | null | ((event: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (name === 'class') el.className = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(
      typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child,
    );
  }
}

/** Replaces the main region's content and moves focus there, as a page change should for keyboard and screen-reader users. */
export function render(title: string, ...children: (Child | Child[])[]): HTMLElement {
  const main = document.getElementById('main')!;
  main.replaceChildren();
  document.title = `${title} · evalgate`;
  append(main, [h('h1', {}, title), ...children]);
  return main;
}

/** A link within the console: /ui/<path>?<query>. */
export function uiHref(path: string, query: Record<string, string | number | undefined | null> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return `/ui/${path.replace(/^\//, '')}${qs ? `?${qs}` : ''}`;
}

export const link = (href: string, ...children: Child[]) => h('a', { href }, ...children);

/** A table with a caption and a header row; rows are arrays of cells. */
export function table(caption: string, headers: string[], rows: Child[][], attrs: Record<string, Attr> = {}) {
  return h(
    'table',
    attrs,
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((cells) =>
        h(
          'tr',
          {},
          cells.map((c) => h('td', {}, c)),
        ),
      ),
    ),
  );
}
