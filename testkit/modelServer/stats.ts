/** Request counters for the reference model server (`GET /admin/stats`). */

export type ModelRoute = 'predict' | 'chat';

export interface ModelServerStats {
  requests: {
    total: number;
    byModel: Record<string, number>;
    /** HTTP status as a string, or `reset` / `aborted` for connections that ended without an answer. */
    byStatus: Record<string, number>;
    byRoute: Record<string, number>;
    /** Most requests that arrived within any one second (a sliding window): what a provider's rate limit counts. */
    maxPerSecond: number;
  };
  /** `meanInFlight`: requests in flight averaged over the time since the counters were reset. */
  concurrency: { inFlight: number; maxInFlight: number; meanInFlight: number };
  /** Usage the server reported, in total and per model (so a client's cost can be checked model by model). */
  tokens: { prompt: number; completion: number; byModel: Record<string, { prompt: number; completion: number }> };
  /** CPU time this process spent since the counters were reset (user + system), for load tests. */
  cpuMs: number;
  since: string;
}

/** One model call as it arrived: when (ms since the epoch, fractional), for which model, and the json-predict row id. */
export interface Arrival {
  at: number;
  model: string;
  id?: string;
}

/** The arrival log (knob `recordArrivals`), oldest first; calls beyond its cap are counted, not kept. */
export interface ArrivalLog {
  arrivals: Arrival[];
  dropped: number;
}

const MAX_ARRIVALS = 500_000;

function bump(counter: Record<string, number>, key: string, by = 1): void {
  counter[key] = (counter[key] ?? 0) + by;
}

export class StatsRecorder {
  private state = StatsRecorder.empty();
  private cpuAtReset = process.cpuUsage();
  /** Integral of in-flight requests over time (request·ms) since the reset, and when it was last brought up to date. */
  private inFlightMs = 0;
  private lastChange = performance.now();
  private resetAt = this.lastChange;
  /** Arrival times of the last second, oldest at `recentHead`. */
  private recent: number[] = [];
  private recentHead = 0;
  private log: ArrivalLog = { arrivals: [], dropped: 0 };

  /** Brings the in-flight integral up to now; called before every change of the count. */
  private integrate(): void {
    const now = performance.now();
    this.inFlightMs += this.state.concurrency.inFlight * (now - this.lastChange);
    this.lastChange = now;
  }

  private static empty(): ModelServerStats {
    return {
      requests: { total: 0, byModel: {}, byStatus: {}, byRoute: {}, maxPerSecond: 0 },
      concurrency: { inFlight: 0, maxInFlight: 0, meanInFlight: 0 },
      tokens: { prompt: 0, completion: 0, byModel: {} },
      cpuMs: 0,
      since: new Date().toISOString(),
    };
  }

  arrived(route: ModelRoute): void {
    this.state.requests.total++;
    bump(this.state.requests.byRoute, route);
    this.integrate();
    this.countArrival(this.lastChange);
    const concurrency = this.state.concurrency;
    concurrency.inFlight++;
    if (concurrency.inFlight > concurrency.maxInFlight) concurrency.maxInFlight = concurrency.inFlight;
  }

  private countArrival(now: number): void {
    this.recent.push(now);
    while (this.recent[this.recentHead] <= now - 1000) this.recentHead++;
    const inWindow = this.recent.length - this.recentHead;
    if (inWindow > this.state.requests.maxPerSecond) this.state.requests.maxPerSecond = inWindow;
    if (this.recentHead > 4096 && this.recentHead * 2 > this.recent.length) {
      this.recent = this.recent.slice(this.recentHead);
      this.recentHead = 0;
    }
  }

  /** Logs a call (only while the knob `recordArrivals` is on). */
  arrival(at: number, model: string, id: unknown): void {
    if (this.log.arrivals.length >= MAX_ARRIVALS) {
      this.log.dropped++;
      return;
    }
    this.log.arrivals.push(
      typeof id === 'string' || typeof id === 'number' ? { at, model, id: String(id) } : { at, model },
    );
  }

  arrivals(): ArrivalLog {
    return { arrivals: [...this.log.arrivals], dropped: this.log.dropped };
  }

  model(name: string): void {
    bump(this.state.requests.byModel, name);
  }

  finished(status: string): void {
    bump(this.state.requests.byStatus, status);
    this.integrate();
    this.state.concurrency.inFlight = Math.max(0, this.state.concurrency.inFlight - 1);
  }

  tokens(prompt: number, completion: number, model?: string): void {
    this.state.tokens.prompt += prompt;
    this.state.tokens.completion += completion;
    if (model === undefined) return;
    const perModel = (this.state.tokens.byModel[model] ??= { prompt: 0, completion: 0 });
    perModel.prompt += prompt;
    perModel.completion += completion;
  }

  /** A deep copy, safe to hand out. In-flight requests survive a reset. */
  snapshot(): ModelServerStats {
    const cpu = process.cpuUsage(this.cpuAtReset);
    this.integrate();
    const elapsed = this.lastChange - this.resetAt;
    const copy = structuredClone(this.state);
    copy.concurrency.meanInFlight = elapsed > 0 ? Math.round((100 * this.inFlightMs) / elapsed) / 100 : 0;
    return { ...copy, cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
  }

  reset(): void {
    const inFlight = this.state.concurrency.inFlight;
    this.state = StatsRecorder.empty();
    this.log = { arrivals: [], dropped: 0 };
    this.cpuAtReset = process.cpuUsage();
    this.state.concurrency = { inFlight, maxInFlight: inFlight, meanInFlight: 0 };
    this.inFlightMs = 0;
    this.recent = [];
    this.recentHead = 0;
    this.resetAt = this.lastChange = performance.now();
  }
}
