/**
 * Fan-out of a caller's AbortSignal to the waits and requests of its calls.
 *
 * A shard passes one signal (its activity's cancellation) to thousands of concurrent
 * calls. Giving each call its own `abort` listener on that signal costs an EventTarget
 * add/remove per wait (measurably, on the hot path) and trips Node's
 * MaxListenersExceededWarning past ten. Instead each signal gets one listener, and
 * calls subscribe to a Set: O(1) in and out, nothing left behind.
 */
const subscribers = new WeakMap<AbortSignal, Set<() => void>>();
const noop = () => {};

/**
 * Runs `callback` once when `signal` aborts; returns the unsubscribe function.
 * Callers check `signal.aborted` first: an already aborted signal never calls back.
 */
export function onAbort(signal: AbortSignal | undefined, callback: () => void): () => void {
  if (!signal || signal.aborted) return noop;
  let callbacks = subscribers.get(signal);
  if (!callbacks) {
    const created = new Set<() => void>();
    callbacks = created;
    subscribers.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        subscribers.delete(signal);
        for (const subscriber of created) subscriber();
        created.clear();
      },
      { once: true },
    );
  }
  const registered = callbacks;
  registered.add(callback);
  return () => {
    registered.delete(callback);
  };
}
