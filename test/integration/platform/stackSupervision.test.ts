/**
 * infra/stack.sh keeps track of what it started even when a launcher dies alone: `status` tells a
 * live server from an orphaned one and from a dead one, `up` sees the orphan as running (it starts
 * no second worker beside it), and `down` stops the whole process group.
 *
 * Run in a state directory of its own, on the worker only, with a stand-in server (a launcher
 * process whose child holds the worker's command line, as tsx's child does): the shared services
 * and any other stack are left alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const MARKER = join(ROOT, 'workers/main.ts');
let stateDir: string;

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    EVALGATE_STATE_DIR: stateDir,
    EVALGATE_STACK_REUSE_WAIT: '1',
    EVALGATE_WORKER_METRICS_PORT: '9464',
  };
}
/** Runs bash with infra/lib.sh sourced (start_detached, running_pid, ...). */
function lib(script: string): string {
  return execFileSync('bash', ['-c', `source infra/lib.sh && ${script}`], { cwd: ROOT, env: env(), encoding: 'utf8' });
}
function stack(...args: string[]): string {
  return execFileSync('bash', ['infra/stack.sh', ...args], { cwd: ROOT, env: env(), encoding: 'utf8' });
}
const workerLine = (status: string, name = 'worker') =>
  status.split('\n').find((line) => line.startsWith(`${name} `)) ?? '';
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function until(check: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a stand-in worker as stack.sh does; gives the recorded pid (the launcher's) and the server's. */
async function startStandIn(name = 'worker'): Promise<{ launcher: number; server: number }> {
  lib(`start_detached ${name} bash -c 'node -e "setInterval(() => {}, 1000)" "$0" & wait' ${JSON.stringify(MARKER)}`);
  const launcher = Number(lib(`cat "$(pid_file ${name})"`).trim());
  let server = 0;
  await until(() => {
    const members = lib(`pgrep -s ${launcher} || true`).split('\n').filter(Boolean).map(Number);
    server =
      members.find(
        (pid) =>
          pid !== launcher && lib(`has_marker ${pid} ${JSON.stringify(MARKER)} && echo y || true`).trim() === 'y',
      ) ?? 0;
    return server > 0;
  });
  return { launcher, server };
}

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'evalgate-stack-'));
});
afterEach(() => {
  try {
    stack('down', 'worker');
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

it('after a SIGKILL of the launcher: status shows the orphan, up counts it as running, down stops it', async () => {
  const { launcher, server } = await startStandIn();
  expect(workerLine(stack('status'))).toMatch(new RegExp(`^worker +healthy +${launcher} `));

  process.kill(launcher, 'SIGKILL');
  await until(() => !alive(launcher));
  expect(alive(server)).toBe(true);
  // What `up` asks before starting a worker: the orphan counts as the running one.
  expect(lib(`running_pid worker ${JSON.stringify(MARKER)}`).trim()).toBe(String(launcher));
  expect(workerLine(stack('status'))).toMatch(new RegExp(`^worker +healthy \\(launcher gone\\) +${server} `));

  stack('down', 'worker');
  await until(() => !alive(server));
  expect(workerLine(stack('status'))).toMatch(/^worker +stopped +- /);
}, 60_000);

it('tells a dead process from a live one', async () => {
  const { launcher, server } = await startStandIn();
  // The whole group gone, not by `down`: a crash.
  process.kill(-launcher, 'SIGKILL');
  await until(() => !alive(server) && !alive(launcher));
  expect(workerLine(stack('status'))).toMatch(/^worker +dead \(exited; see logs\) +- /);
  expect(workerLine(stack('status'))).toMatch(/^worker +stopped +- /);
}, 60_000);

it('supervises several workers: each its own group and /metrics port, all stopped by `down worker`', async () => {
  const first = await startStandIn('worker');
  const second = await startStandIn('worker-2');
  const third = await startStandIn('worker-3');
  const status = stack('status');
  expect(workerLine(status, 'worker')).toMatch(new RegExp(`^worker +healthy +${first.launcher} .*metrics :9464/`));
  expect(workerLine(status, 'worker-2')).toMatch(new RegExp(`^worker-2 +healthy +${second.launcher} .*metrics :9465/`));
  expect(lib('worker_indexes').trim().split('\n')).toEqual(['1', '2', '3']);

  // One worker stopped by name; the others run on.
  stack('down', 'worker-3');
  await until(() => !alive(third.server));
  expect(alive(second.server)).toBe(true);
  expect(workerLine(stack('status'), 'worker-3')).toBe('');

  // A crashed launcher of worker-2: its server still counts, and `down worker` stops every worker's group.
  process.kill(second.launcher, 'SIGKILL');
  await until(() => !alive(second.launcher));
  expect(workerLine(stack('status'), 'worker-2')).toMatch(/^worker-2 +healthy \(launcher gone\) /);
  stack('down', 'worker');
  await until(() => !alive(first.server) && !alive(second.server));
  expect(workerLine(stack('status'), 'worker')).toMatch(/^worker +stopped +- /);
}, 60_000);
