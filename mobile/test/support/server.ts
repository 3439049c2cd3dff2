/**
 * A real `winledger serve` on a free loopback port, over a fresh SQLite file in a temporary directory,
 * and the admin commands an operator runs against it (users, tokens, backup and restore), run as the
 * operator would: the `winledger` command, with the database named by `--db`.
 *
 * The command is `$WINLEDGER_BIN`, else `winledger` on the PATH, else the repository's
 * `.venv/bin/winledger` (or `../.venv/bin/winledger` beside the repository). Every step is bounded in
 * time, and every server a test starts is stopped by `withServer` (or `stopAll`) at its end.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, copyFileSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** mobile/ (this file compiles to mobile/build/test/support/server.js; the source is two levels up too). */
export const mobileDir = resolve(here, existsSync(resolve(here, "../../package.json")) ? "../.." : "../../..");
export const repoRoot = resolve(mobileDir, "..");
/** The Python helpers live beside the TypeScript sources (they are not compiled). */
export const supportSourceDir = join(mobileDir, "test", "support");

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

let cachedBinary: string | undefined;

/** The `winledger` command the tests run. */
export function winledgerBinary(): string {
  if (cachedBinary) return cachedBinary;
  const candidates = [
    process.env.WINLEDGER_BIN,
    onPath("winledger"),
    join(repoRoot, ".venv", "bin", "winledger"),
    join(repoRoot, "..", ".venv", "bin", "winledger"),
  ];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate)) return (cachedBinary = candidate);
  }
  throw new Error(
    "No `winledger` command: set WINLEDGER_BIN, put winledger on the PATH, or install it in the " +
      `repository's .venv (looked at ${candidates.filter(Boolean).join(", ")})`,
  );
}

/** The Python interpreter of the same installation (the venv's, beside the command), else python3. */
export function pythonBinary(): string {
  const sibling = join(dirname(winledgerBinary()), "python");
  return existsSync(sibling) ? sibling : "python3";
}

/**
 * The environment every child process gets: the caller's, without any `WINLEDGER_*` setting (a
 * developer's own database, token or journal must never leak in), with HOME and the XDG folders in
 * `home` so that `winledger login` saves its settings there, not in the developer's home.
 */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("WINLEDGER_")) env[key] = value;
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_STATE_HOME: join(home, ".local", "state"),
    PYTHONDONTWRITEBYTECODE: "1",
    ...extra,
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to its end (at most `timeoutMs`), with `input` on its standard input. */
export function run(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string },
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      command,
      args,
      { env: options.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 << 20, cwd: options.cwd },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException & { killed?: boolean }).killed) {
          reject(new Error(`${command} ${args.join(" ")} timed out:\n${stderr}`));
          return;
        }
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolvePromise({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.end(options.input ?? "");
  });
}

/** A free loopback port (bound and released; the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolvePromise(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `promise` settles within `ms` (its timer does not keep the process alive). */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(false), ms);
    timer.unref();
    void promise.then(
      () => {
        clearTimeout(timer);
        resolvePromise(true);
      },
      () => {
        clearTimeout(timer);
        resolvePromise(true);
      },
    );
  });
}

/** A token as `admin create-user` / `create-token` print it, with the id `revoke-token` takes. */
export interface Token {
  token: string;
  id: string;
}

/** The server's view of a user's log: GET /v1/events from 0 to the end. */
export interface ServerLog {
  ids: string[];
  events: Array<Record<string, unknown> & { id: string; seq: number; type: string; data: Record<string, unknown> }>;
  count: number;
  digest: string;
  epoch: string;
}

export interface ServerOptions {
  /** More `WINLEDGER_*` settings for the server process (limits, rate limit). */
  env?: Record<string, string>;
  /**
   * Serve as a server older than the client: the schema without these event types
   * (`event.redacted`) or versions (`metric.observed:2`), through older_server.py.
   */
  withoutTypes?: string[];
  withoutVersions?: string[];
  /** `process` (the default of `winledger serve`) or `inline` (lighter: no second process). */
  projector?: "process" | "inline";
}

const live = new Set<WinledgerServer>();

export class WinledgerServer {
  readonly dir: string;
  readonly dbPath: string;
  readonly home: string;
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  readonly logPath: string;

  constructor(readonly options: ServerOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), "winledger-ts-"));
    this.dbPath = join(this.dir, "server.db");
    this.home = join(this.dir, "home");
    this.logPath = join(this.dir, "server.log");
  }

  get dbUrl(): string {
    return `sqlite+aiosqlite:///${this.dbPath}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return isolatedEnv(this.home, extra);
  }

  /** Start serving (the same port as the last run when `samePort`: clients keep their URL). */
  async start({ samePort = false }: { samePort?: boolean } = {}): Promise<this> {
    if (this.child) throw new Error("the server is already running");
    if (!(samePort && this.port)) this.port = await freePort();
    const serveArgs = [
      "serve",
      "--db",
      this.dbUrl,
      "--port",
      String(this.port),
      "--log-level",
      "warning",
      "--projector",
      this.options.projector ?? "inline",
    ];
    let command = winledgerBinary();
    let args = serveArgs;
    if (this.older) {
      command = pythonBinary();
      args = [join(supportSourceDir, "older_server.py")];
      for (const name of this.options.withoutTypes ?? []) args.push("--without-type", name);
      for (const version of this.options.withoutVersions ?? []) args.push("--without-version", version);
      args.push(...serveArgs);
    }
    const log = openSync(this.logPath, "a");
    // Its own process group, so that stop() and kill() reach the projector process beside it too.
    const child = spawn(command, args, {
      env: this.env(this.options.env),
      stdio: ["ignore", log, log],
      detached: true,
      cwd: this.dir,
    });
    closeSync(log);
    this.child = child;
    live.add(this);
    this.exited = new Promise((r) => child.once("exit", () => r()));
    let exitedEarly = false;
    void this.exited.then(() => {
      exitedEarly = true;
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (exitedEarly) {
        this.child = undefined;
        live.delete(this);
        throw new Error(`winledger serve exited early:\n${this.log()}`);
      }
      try {
        const response = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (response.status === 200) return this;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    await this.kill();
    throw new Error(`winledger serve did not answer /healthz within 30 s:\n${this.log()}`);
  }

  private get older(): boolean {
    return Boolean(this.options.withoutTypes?.length || this.options.withoutVersions?.length);
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, "utf8").slice(-4000) : "";
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM (a clean shutdown), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (!this.child) return;
    this.signalGroup("SIGTERM");
    const done = await within(this.exited!, 15_000);
    if (!done) {
      this.signalGroup("SIGKILL");
      await this.exited;
    }
    // The projector process (if any) leaves with its parent; make sure of it.
    this.signalGroup("SIGKILL");
    this.child = undefined;
    live.delete(this);
  }

  /** SIGKILL: no shutdown, as in a crash. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.signalGroup("SIGKILL");
    await within(this.exited!, 10_000);
    this.child = undefined;
    live.delete(this);
  }

  /** Stop, and remove the temporary directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** `winledger ARGS` in this server's isolated environment; throws unless it exits 0. */
  async cli(args: string[], options: { input?: string; env?: Record<string, string>; check?: boolean } = {}): Promise<RunResult> {
    const result = await run(winledgerBinary(), args, {
      env: this.env(options.env),
      input: options.input,
      cwd: this.dir,
      timeoutMs: 60_000,
    });
    if ((options.check ?? true) && result.code !== 0) {
      throw new Error(`winledger ${args.join(" ")} failed (${result.code}):\n${result.stderr}${result.stdout}`);
    }
    return result;
  }

  /** `admin create-user NAME`: the user's first token. */
  async createUser(name: string, label = "first device"): Promise<Token> {
    const result = await this.cli(["admin", "create-user", name, "--label", label, "--db", this.dbUrl, "--create"]);
    return parseToken(result.stdout);
  }

  /** `admin create-token NAME`: another token of the user (`more`: e.g. `--expires 2026-12-31`). */
  async createToken(name: string, label = "another device", more: string[] = []): Promise<Token> {
    const result = await this.cli(["admin", "create-token", name, "--label", label, ...more, "--db", this.dbUrl]);
    return parseToken(result.stdout);
  }

  /** `admin revoke-token ID`. */
  async revokeToken(token: Token): Promise<void> {
    await this.cli(["admin", "revoke-token", token.id, "--db", this.dbUrl]);
  }

  /** `admin backup PATH` while the server keeps serving: a consistent copy through SQLite's backup API. */
  async backup(name = "backup.db"): Promise<string> {
    const path = join(this.dir, name);
    await this.cli(["admin", "backup", path, "--db", this.dbUrl]);
    return path;
  }

  /** Stop, `admin restore PATH` (the backup under a new epoch), and serve again on the same port. */
  async restoreFromBackup(path: string): Promise<void> {
    await this.stop();
    await this.cli(["admin", "restore", path, "--db", this.dbUrl]);
    await this.start({ samePort: true });
  }

  /** Stop, copy the database file aside by hand (no new epoch: what an operator's `cp` keeps), start again. */
  async copyDatabaseAside(name = "by-hand.db"): Promise<string> {
    await this.stop();
    const path = join(this.dir, name);
    copyFileSync(this.dbPath, path);
    await this.start({ samePort: true });
    return path;
  }

  /** Stop, copy a file made by `copyDatabaseAside` back over the database by hand, start again. */
  async copyDatabaseBack(path: string): Promise<void> {
    await this.stop();
    for (const suffix of ["-wal", "-shm"]) rmSync(this.dbPath + suffix, { force: true });
    copyFileSync(path, this.dbPath);
    await this.start({ samePort: true });
  }

  private getEvents(bearer: string, after: number): Promise<Response> {
    return fetch(`${this.url}/v1/events?after=${after}&limit=5000`, {
      headers: { authorization: `Bearer ${bearer}` },
      signal: AbortSignal.timeout(20_000),
    });
  }

  /** GET /v1/events from 0 until `more` is false (waiting out a 429 or 503): the user's whole log, its count and digest. */
  async serverLog(token: Token | string): Promise<ServerLog> {
    const bearer = typeof token === "string" ? token : token.token;
    const events: ServerLog["events"] = [];
    let after = 0;
    for (let page = 0; page < 1000; page++) {
      let response = await this.getEvents(bearer, after);
      for (let retry = 0; retry < 5 && (response.status === 429 || response.status === 503); retry++) {
        await sleep(1000 * Number(response.headers.get("retry-after") ?? "1"));
        response = await this.getEvents(bearer, after);
      }
      if (response.status !== 200) throw new Error(`GET /v1/events: ${response.status} ${await response.text()}`);
      const body = (await response.json()) as {
        events: ServerLog["events"];
        cursor: number;
        more: boolean;
        count?: number;
        digest?: string;
        epoch: string;
      };
      events.push(...body.events);
      after = body.cursor;
      if (!body.more) {
        return {
          events,
          ids: events.map((e) => e.id).sort(),
          count: body.count ?? -1,
          digest: body.digest ?? "",
          epoch: body.epoch,
        };
      }
    }
    throw new Error("GET /v1/events never ended");
  }
}

export function parseToken(stdout: string): Token {
  const lines = stdout.trim().split("\n");
  const token = (lines[lines.length - 1] ?? "").trim();
  const match = /^wl_([0-9a-f]+)_[0-9a-f]+$/.exec(token);
  if (!match?.[1]) throw new Error(`no token on the last line of:\n${stdout}`);
  return { token, id: match[1] };
}

/** Start a server, run `body` with it, and always stop it and remove its files afterwards. */
export async function withServer<T>(
  body: (server: WinledgerServer) => Promise<T>,
  options: ServerOptions = {},
): Promise<T> {
  const server = new WinledgerServer(options);
  try {
    await server.start();
    return await body(server);
  } finally {
    await server.dispose();
  }
}

/** Stop every server still running (for an `after` hook). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((server) => server.stop()));
}

process.on("exit", () => {
  for (const server of live) {
    const pid = (server as unknown as { child?: ChildProcess }).child?.pid;
    if (pid !== undefined) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
});
