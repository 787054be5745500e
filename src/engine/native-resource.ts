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

export abstract class NativeResource<H extends NativeHandle> implements AsyncDisposable {
  private handle: H | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private epoch = 0;
  /** Long calls queued or running: a short call between them could read or change state mid-call. */
  private pending = 0;

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

  /** `await using model = await Model.load(...)` frees the model at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  protected open(): H {
    if (!this.handle) throw new InputError(`${this.label} was disposed`, "load it again");
    return this.handle;
  }

  /** Queues a long native call behind the others on this object. */
  protected run<T>(what: string, call: (h: H) => Promise<T>): Promise<T> {
    const epoch = this.epoch;
    this.pending++;
    const next = this.tail.then(async () => {
      // Counted down before the caller's await resumes, so a short call right after it is allowed.
      try {
        if (epoch !== this.epoch) throw new CancelledError(what);
        return await call(this.open());
      } catch (e) {
        throw translateNativeError(e, what);
      } finally {
        this.pending--;
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /**
   * A short synchronous native call, with native errors translated. Refused while a long call is
   * queued or running: the native side would read tensors, or a thread count, that the running call
   * is changing.
   */
  protected sync<T>(what: string, call: (h: H) => T): T {
    if (this.pending > 0) throw new InputError(`cannot ${what} while a ${this.label} call is still running`, "await the pending step, loss or save first");
    try {
      return call(this.open());
    } catch (e) {
      throw translateNativeError(e, what);
    }
  }
}
