/**
 * The console's entry: one shell for every page under /ui/, the page chosen from the path,
 * its state from the query string (so a link, a reload or the back button shows the same view).
 */
import { ApiError, apiKey, clearApiKey, setApiKey } from './api';
import { h, link, render } from './dom';
import { checkPage } from './pages/check';
import { comparePage } from './pages/compare';
import { experimentPage } from './pages/experiment';
import { incidentPage, incidentsPage } from './pages/incidents';
import { lineagePage } from './pages/lineage';
import { runPage } from './pages/run';
import { runsPage } from './pages/runs';
import { whoAmI } from './session';

function keyForm(message?: string): void {
  const input = h('input', { id: 'api-key', name: 'apiKey', type: 'password', autocomplete: 'off', required: true });
  render(
    'Sign in with an API key',
    message ? h('p', { role: 'alert', class: 'error' }, message) : null,
    h('p', {}, 'The key stays in this browser tab (sessionStorage) and is sent as a Bearer token to the evalgate API.'),
    h(
      'form',
      {
        onsubmit: (event: Event) => {
          event.preventDefault();
          setApiKey(input.value);
          location.reload();
        },
      },
      h('label', { for: 'api-key' }, 'API key '),
      input,
      ' ',
      h('button', { type: 'submit' }, 'Use key'),
    ),
  );
  input.focus();
}

async function nav(): Promise<void> {
  const el = document.getElementById('nav')!;
  el.replaceChildren(
    h('ul', {}, h('li', {}, link('/ui/runs', 'Runs')), h('li', {}, link('/ui/incidents', 'Incidents'))),
  );
  if (!apiKey()) return;
  const me = await whoAmI().catch(() => undefined);
  el.append(
    h(
      'p',
      { class: 'who' },
      me ? `Signed in as ${me.name} ` : '',
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            clearApiKey();
            location.assign('/ui/');
          },
        },
        'Forget key',
      ),
    ),
  );
}

function showError(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) {
    clearApiKey();
    return keyForm(`The API refused the key: ${err.message}`);
  }
  const message = err instanceof ApiError ? `${err.message} (${err.status} ${err.code})` : String(err);
  render('Something went wrong', h('p', { role: 'alert', class: 'error' }, message));
}

async function route(): Promise<void> {
  if (!apiKey()) return keyForm();
  const parts = location.pathname
    .replace(/^\/ui\/?/, '')
    .split('/')
    .filter(Boolean)
    .map(decodeURIComponent);
  const query = new URLSearchParams(location.search);
  switch (parts[0] ?? 'runs') {
    case 'runs':
      return parts[1] ? runPage(parts[1]) : runsPage(query);
    case 'compare':
      return comparePage(query);
    case 'checks':
      return checkPage(parts[1]);
    case 'experiments':
      return experimentPage(parts[1] ?? '');
    case 'incidents':
      return parts[1] ? incidentPage(parts[1]) : incidentsPage(query);
    case 'lineage':
      return lineagePage(parts[1], parts.slice(2).join('/'), query);
    default:
      render('Not found', h('p', {}, 'No console page here. '), link('/ui/runs', 'See the runs'));
  }
}

void nav();
route().catch(showError);
