/**
 * A loopback HTTP proxy in front of a real `winledger serve`, which decides for each request what the
 * network does to it: pass it on, lose it before the server sees it, lose the server's answer after
 * the server acted on it, deliver it twice, delay it, or answer in the server's place (a load
 * balancer's `503`, or an out-of-date `/v1/info`).
 *
 * Lost requests and responses end the client's connection without an answer, as a dropped mobile
 * connection does; the client sees a network error.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxiedRequest {
  /** 0, 1, 2, … in the order requests arrived. */
  index: number;
  method: string;
  /** The path with its query, e.g. `/v1/events?after=0`. */
  path: string;
  body: Buffer;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type Fault =
  | "forward"
  /** The server never sees the request; the client's connection is closed. */
  | "drop_request"
  /** The server handles the request; its answer is thrown away and the client's connection closed. */
  | "drop_response"
  /** The server gets the request twice (one after the other); the client gets the second answer. */
  | "duplicate"
  | { delayMs: number }
  /** Answer in the server's place, without passing the request on. */
  | { respond: Answer }
  /** Pass it on, and give the client `rewrite(answer)` instead of the server's answer. */
  | { rewrite: (answer: Answer) => Answer };

export type Rule = (request: ProxiedRequest) => Fault;

export interface LogEntry {
  index: number;
  method: string;
  path: string;
  fault: string;
  /** The pull position the request asked for (`after` in its query or its JSON body), if any. */
  after?: number;
  /** The server's status (the last one, for a duplicate); undefined when the server was not asked. */
  status?: number;
  at: number;
}

export class FaultProxy {
  private server: Server | undefined;
  port = 0;
  rule: Rule = () => "forward";
  readonly log: LogEntry[] = [];
  private count = 0;

  constructor(private readonly upstream: () => string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch(() => {
        res.destroy();
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Requests so far whose path starts with `prefix` (`/v1/sync`, `/v1/events`). */
  requests(prefix: string): LogEntry[] {
    return this.log.filter((entry) => entry.path.startsWith(prefix));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const proxied: ProxiedRequest = {
      index: this.count++,
      method: req.method ?? "GET",
      path: req.url ?? "/",
      body: Buffer.concat(chunks),
    };
    const fault = this.rule(proxied);
    const entry: LogEntry = {
      index: proxied.index,
      method: proxied.method,
      path: proxied.path,
      fault: typeof fault === "string" ? fault : Object.keys(fault)[0]!,
      at: Date.now(),
    };
    const after = afterOf(proxied);
    if (after !== undefined) entry.after = after;
    this.log.push(entry);
    if (fault === "drop_request") {
      req.socket.destroy();
      return;
    }
    if (typeof fault === "object" && "respond" in fault) {
      send(res, fault.respond);
      return;
    }
    if (typeof fault === "object" && "delayMs" in fault) {
      await new Promise((r) => setTimeout(r, fault.delayMs));
    }
    let answer = await this.forward(req, proxied.body);
    if (fault === "duplicate") answer = await this.forward(req, proxied.body);
    entry.status = answer.status;
    if (fault === "drop_response") {
      req.socket.destroy();
      return;
    }
    if (typeof fault === "object" && "rewrite" in fault) answer = fault.rewrite(answer);
    send(res, answer);
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<Answer> {
    const target = new URL(req.url ?? "/", this.upstream());
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name === "host" || name === "connection" || name === "keep-alive") continue;
      headers[name] = value;
    }
    headers["content-length"] = String(body.length);
    delete headers["transfer-encoding"];
    return new Promise((resolve, reject) => {
      const upstream = httpRequest(
        target,
        { method: req.method, headers, timeout: 30_000, agent: false },
        (response) => {
          const parts: Buffer[] = [];
          response.on("data", (chunk: Buffer) => parts.push(chunk));
          response.on("end", () => {
            const out: Record<string, string> = {};
            for (const [name, value] of Object.entries(response.headers)) {
              if (value === undefined || name === "connection" || name === "keep-alive" || name === "transfer-encoding") continue;
              out[name] = Array.isArray(value) ? value.join(", ") : value;
            }
            resolve({ status: response.statusCode ?? 502, headers: out, body: Buffer.concat(parts) });
          });
          response.on("error", reject);
        },
      );
      upstream.on("timeout", () => upstream.destroy(new Error("upstream timed out")));
      upstream.on("error", reject);
      upstream.end(body);
    });
  }
}

function afterOf(request: ProxiedRequest): number | undefined {
  const query = new URL(request.path, "http://proxy").searchParams.get("after");
  if (query !== null) return Number(query);
  const match = /"after"\s*:\s*(\d+)/.exec(request.body.toString());
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function send(res: ServerResponse, answer: Answer): void {
  const headers = { ...answer.headers, "content-length": String(answer.body.length) };
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

/** A JSON answer (for `respond`). */
export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: Buffer.from(JSON.stringify(body)),
  };
}
