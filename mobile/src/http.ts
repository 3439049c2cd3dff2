/** Requests to a winledger server with the retry rules of section 10.4. */
import { SyncError } from "./errors.js";

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Statuses worth another try: a slow body, rate limiting, a server or proxy in trouble. */
const TRANSIENT = new Set([408, 429, 500, 502, 503, 504]);

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export class Transport {
  token: string | undefined;

  constructor(
    readonly server: string,
    token: string | undefined,
    private readonly fetchImpl: typeof fetch,
    private readonly retry: RetryPolicy,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.token = token;
  }

  /** The wait before attempt `attempt + 1`: `min(max, base * 2^attempt) * random(0.5, 1)`, at least Retry-After. */
  private delay(attempt: number, retryAfter: number | undefined): number {
    const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt) * (0.5 + Math.random() * 0.5);
    return retryAfter === undefined ? backoff : Math.max(retryAfter, backoff);
  }

  get(path: string): Promise<Record<string, unknown>> {
    return this.request("GET", path);
  }

  post(path: string, body: string): Promise<Record<string, unknown>> {
    return this.request("POST", path, body);
  }

  /** One request, retried on network errors and transient statuses; any other failure is a `SyncError`. */
  async request(method: "GET" | "POST", path: string, body?: string, token = this.token): Promise<Record<string, unknown>> {
    if (token === undefined || token === "") {
      throw new SyncError("unauthorized", "No token: call setToken() with the token the server's administrator gave you", { status: 401 });
    }
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const url = this.server + path;
    let last: SyncError | undefined;
    for (let attempt = 0; attempt < this.retry.attempts; attempt++) {
      if (attempt > 0) await this.sleep(this.delay(attempt - 1, last?.retryAfterMs));
      let response: Response;
      try {
        response = await this.fetchImpl(url, { method, headers, ...(body === undefined ? {} : { body }) });
      } catch (error) {
        last = new SyncError("network", `Could not reach ${url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        continue;
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        last = new SyncError("network", `The answer from ${url} was cut off: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        continue;
      }
      let parsed: unknown;
      try {
        parsed = text === "" ? {} : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (response.ok) {
        if (parsed === undefined || parsed === null || typeof parsed !== "object") {
          throw new SyncError("protocol", `${method} ${path} answered ${response.status} with a body that is not a JSON object`, { status: response.status });
        }
        return parsed as Record<string, unknown>;
      }
      const problem = (parsed && typeof parsed === "object" ? parsed : {}) as Record<string, unknown>;
      const code = typeof problem.code === "string" ? problem.code : `http_${response.status}`;
      const detail = typeof problem.detail === "string" ? problem.detail : text.slice(0, 200) || response.statusText;
      const extra: { status: number; reason?: string; epoch?: string; retryAfterMs?: number } = { status: response.status };
      if (typeof problem.reason === "string") extra.reason = problem.reason;
      const epoch = typeof problem.epoch === "string" ? problem.epoch : response.headers.get("Winledger-Epoch");
      if (epoch) extra.epoch = epoch;
      const after = retryAfterMs(response.headers.get("Retry-After"));
      if (after !== undefined) extra.retryAfterMs = after;
      const error = new SyncError(code, `${method} ${path}: ${response.status} ${code}: ${detail}`, extra);
      if (!TRANSIENT.has(response.status)) throw error;
      last = error;
    }
    throw last ?? new SyncError("network", `${method} ${path} was not attempted`);
  }
}
