/**
 * Serialises the long calls on one native object (a llama.cpp context or a trainer runs one call
 * at a time) and makes cancel() apply to the running call and to every call queued before it.
 */
import { CancelledError } from "../errors.js";
import { translateNativeError } from "./native.js";

export class CallQueue<H extends { cancel(): void }> {
  private tail: Promise<unknown> = Promise.resolve();
  private epoch = 0;

  constructor(private readonly handle: () => H) {}

  run<T>(what: string, call: (h: H) => Promise<T>): Promise<T> {
    const epoch = this.epoch;
    const next = this.tail.then(async () => {
      if (epoch !== this.epoch) throw new CancelledError(what);
      try {
        return await call(this.handle());
      } catch (e) {
        throw translateNativeError(e, what);
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  cancel(h: H | undefined): void {
    this.epoch++;
    h?.cancel();
  }

  /** Resolves once every queued call has settled. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
