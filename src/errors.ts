/**
 * Every failure lethe reports is a LetheError: a one-line cause plus a one-line fix, so the CLI can
 * print both without a stack trace and API callers can catch failures by kind.
 */
export class LetheError extends Error {
  constructor(
    message: string,
    /** What the user should do about it, as one imperative sentence. */
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A file, directory, config value or argument supplied by the user is unusable. */
export class InputError extends LetheError {}

/** A file exists but is not what it claims to be (truncated, corrupt, wrong magic). */
export class FileFormatError extends LetheError {}

/** A model whose architecture or tensor layout lethe cannot handle. */
export class UnsupportedModelError extends LetheError {}

/** The work would not fit in memory on this machine. */
export class InsufficientMemoryError extends LetheError {}

/** The native engine failed in a way the input checks did not foresee. */
export class EngineError extends LetheError {}

/** A long call was cancelled by its caller. */
export class CancelledError extends LetheError {
  constructor(what: string) {
    super(`${what} was cancelled`, "rerun the command; finished stages are kept");
  }
}

/** An external service (an LLM endpoint) could not be reached or answered badly. */
export class ServiceError extends LetheError {}
