/**
 * Release first across endpoints (issue 14; docs/decisions/release-first.md). Separate task
 * queues give release work its own activity slots, and each endpoint's lanes go to release calls
 * first (FairSemaphore) — but both modes share one worker process: its event loop, and the
 * database, object store and Temporal server behind it. An exploratory burst on another endpoint
 * fills all of those, and every step of a release run waits its turn behind the burst's callbacks.
 *
 * So while release work runs in the process (from the start of a release-queue activity until
 * `lingerMs` after the last one ends — the gaps between a run's steps, and between the runs of a
 * CI burst), exploratory calls on every endpoint share at most `exploratoryCalls` lanes between
 * them. The burst slows down at its source; the release run gets the process, and the services
 * behind it, back. Outside release work exploratory calls pass with no wait and no promise.
 */
import { FairSemaphore } from './endpointLimiter';

export interface ReleaseFirstOptions {
  /** Exploratory calls in flight in the process while release work runs (0: none). */
  exploratoryCalls: number;
  /** How long release work counts as running after its last activity ended. */
  lingerMs: number;
}

export class ReleaseFirst {
  private readonly exploratory = new FairSemaphore(Infinity);
  private releaseActivities = 0;
  private linger: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReleaseFirstOptions) {}

  /** True while exploratory calls are held to `exploratoryCalls`. */
  get releaseWorkRunning(): boolean {
    return this.exploratory.limit !== Infinity;
  }

  /** Exploratory calls waiting for one of the few lanes they have while release work runs. */
  get exploratoryHeld(): number {
    return this.exploratory.queued;
  }

  /** A release-queue activity began (the release worker's interceptor: releaseWorkInterceptor). */
  releaseWorkBegan(): void {
    this.releaseActivities++;
    clearTimeout(this.linger);
    this.linger = undefined;
    if (!this.releaseWorkRunning) this.exploratory.setLimit(this.options.exploratoryCalls);
  }

  releaseWorkEnded(): void {
    if (--this.releaseActivities > 0) return;
    this.linger = setTimeout(() => {
      this.linger = undefined;
      if (this.releaseActivities === 0) this.exploratory.setLimit(Infinity);
    }, this.options.lingerMs);
    this.linger.unref();
  }

  /** Before each attempt of an exploratory call: true at once (no release work), else when a lane frees; false when aborted. */
  admitExploratory(signal?: AbortSignal): Promise<boolean> | true {
    return this.exploratory.acquire(signal);
  }

  /** The exploratory attempt admitted by admitExploratory is over. */
  exploratoryDone(): void {
    this.exploratory.release();
  }
}
