/**
 * Benchmark plumbing: each evalgate part in its own process, as in production, with
 * its peak resident memory read from /proc (VmHWM) so memory targets are measured, not guessed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Proc {
  name: string;
  child: ChildProcess;
  peakRssMb(): number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds a process has used, with those of its children it has waited for
 * (PostgreSQL's backends are counted in the postmaster once they exit). 0 once it is gone.
 */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is field 3; utime..cstime are 14..17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Pids of processes whose executable's file name is one of `names` (e.g. 'postgres', 'temporal', 'minio'). */
function pidsNamed(names: string[]): Map<string, number[]> {
  const found = new Map<string, number[]>(names.map((n) => [n, []]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const name = names.find((n) => comm === n || comm.startsWith(`${n}-`));
    if (name) found.get(name)!.push(Number(entry));
  }
  return found;
}

/**
 * CPU seconds used so far by each of the benchmark's own processes and by the shared
 * services (summed over their processes); subtract two snapshots to see who used the
 * machine during a phase.
 */
export function cpuSnapshot(procs: Proc[], services = ['postgres', 'temporal', 'minio']): Map<string, number> {
  const usage = process.cpuUsage();
  const snapshot = new Map<string, number>([['bench (this process)', (usage.user + usage.system) / 1e6]]);
  for (const proc of procs) snapshot.set(proc.name, proc.cpuSeconds());
  for (const [name, pids] of pidsNamed(services))
    snapshot.set(
      name,
      pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    );
  return snapshot;
}

/** CPU seconds per process between two snapshots, largest first. */
export function cpuBetween(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  return [...after]
    .map(([name, seconds]): [string, number] => [name, Math.max(0, seconds - (before.get(name) ?? 0))])
    .sort((a, b) => b[1] - a[1]);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a Node process directly (a .js file, or a .ts file through `--import tsx`) so the
 * pid is the Node process whose memory we read.
 */
export function startNode(
  name: string,
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  nodeFlags: string[] = [],
): Proc {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...nodeFlags, ...loader, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null)
      process.stderr.write(`[bench] ${name} exited ${code}: ${stderr}\n`);
  });
  return {
    name,
    child,
    peakRssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      return kb / 1024;
    },
    cpuSeconds: () => (child.pid === undefined ? 0 : processCpuSeconds(child.pid)),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

export async function waitHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Builds dist/ (compiled JS, migrations, the workflow bundle) as a deployment would run it. */
export function build(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}
