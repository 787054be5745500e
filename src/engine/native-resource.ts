/**
 * Ownership of a native object (a llama.cpp context or a trainer): its long calls run one at a
 * time, cancel() applies to the running call and to every call queued before it, and dispose()
 * frees it once queued calls have settled.
 */
import { CancelledError, InputError } from "../errors.js";
import { translateNativeError } from "./native.js";

interface NativeHandle {
  cancel(): void;
  dispose(): void;
}

export abstract class NativeResource<H extends NativeHandle> {
  private handle: H | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private epoch = 0;

  protected constructor(
    handle: H,
    /** Names the object in "was disposed" errors, e.g. "model base.gguf". */
    private readonly label: string,
  ) {
    this.handle = handle;
  }

  /** Stops the running long call and the calls queued behind it; their promises reject with CancelledError. */
  cancel(): void {
    this.epoch++;
    this.handle?.cancel();
  }

  /** Frees the native object once queued calls finish. */
  async dispose(): Promise<void> {
    await this.tail;
    this.handle?.dispose();
    this.handle = undefined;
  }

  protected open(): H {
    if (!this.handle) throw new InputError(`${this.label} was disposed`, "load it again");
    return this.handle;
  }

  /** Queues a long native call behind the others on this object. */
  protected run<T>(what: string, call: (h: H) => Promise<T>): Promise<T> {
    const epoch = this.epoch;
    const next = this.tail.then(async () => {
      if (epoch !== this.epoch) throw new CancelledError(what);
      try {
        return await call(this.open());
      } catch (e) {
        throw translateNativeError(e, what);
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** A short synchronous native call, with native errors translated. */
  protected sync<T>(what: string, call: (h: H) => T): T {
    try {
      return call(this.open());
    } catch (e) {
      throw translateNativeError(e, what);
    }
  }
}
