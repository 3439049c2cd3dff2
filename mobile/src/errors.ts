/** Thrown by an append method when the event breaks a rule of the protocol; nothing is stored. */
export class ValidationError extends Error {
  /** The field at fault, as a path in the event: `data.text`, `occurred_at`, `project_id`. */
  readonly field: string;
  /** `invalid_event` for a rule of sections 3 to 5; `unknown_type` / `unsupported_version` otherwise. */
  readonly code: string;
  constructor(field: string, message: string, code = "invalid_event") {
    super(`${message} - at \`${field}\``);
    this.name = "ValidationError";
    this.field = field;
    this.code = code;
  }
}

/**
 * Thrown by `sync()`, `verify()` and the read models when they give up: a refused token
 * (`unauthorized`, with `reason` `expired` or `revoked` when the server said so), the network
 * after the retries (`network`), another account (`account_mismatch`), or any other whole-request
 * error the server answered (its problem `code`). Local events stay as they were: pending ones
 * stay pending.
 */
export class SyncError extends Error {
  readonly code: string;
  readonly status?: number;
  readonly reason?: string;
  readonly epoch?: string;
  readonly retryAfterMs?: number;
  constructor(
    code: string,
    message: string,
    extra: { status?: number; reason?: string; epoch?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "SyncError";
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.reason !== undefined) this.reason = extra.reason;
    if (extra.epoch !== undefined) this.epoch = extra.epoch;
    if (extra.retryAfterMs !== undefined) this.retryAfterMs = extra.retryAfterMs;
  }
}
