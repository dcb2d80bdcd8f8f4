import { onAbort } from './cancellation';

/** Resolves true after `ms`, or false as soon as the signal aborts. Leaves no timer or subscription behind. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const unsubscribe = onAbort(signal, () => {
      clearTimeout(timer);
      resolve(false);
    });
    const timer = setTimeout(() => {
      unsubscribe();
      resolve(true);
    }, ms);
  });
}
