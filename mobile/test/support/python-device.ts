/**
 * A Python device, driven as its user drives it: the `winledger` command with a journal file of its
 * own (`--store`), its own home folder (where `winledger login` keeps the server URL and the token),
 * `winledger login --server URL` with the token on standard input, `winledger win`, `winledger sync`.
 * What its journal holds is read with pydevice.py, which opens it through client_sdk's public Client.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { isolatedEnv, pythonBinary, run, supportSourceDir, winledgerBinary, type RunResult } from "./server.js";

export interface PythonJournal {
  device_id: string;
  synced: string[];
  pending: string[];
  rejected: string[];
  count: number;
  digest: string;
  texts: string[];
}

export class PythonDevice {
  readonly store: string;
  readonly home: string;

  constructor(dir: string, readonly name: string) {
    this.home = join(dir, `${name}-home`);
    mkdirSync(this.home, { recursive: true });
    this.store = join(dir, `${name}.journal.db`);
  }

  async cli(args: string[], input?: string): Promise<RunResult> {
    const result = await run(winledgerBinary(), [...args, "--store", this.store], {
      env: isolatedEnv(this.home),
      input,
      timeoutMs: 60_000,
    });
    if (result.code !== 0) {
      throw new Error(`${this.name}: winledger ${args.join(" ")} failed (${result.code}):\n${result.stderr}${result.stdout}`);
    }
    return result;
  }

  async login(server: string, token: string): Promise<void> {
    await this.cli(["login", "--server", server], token + "\n");
  }

  /** `winledger win TEXT`: the new event's id (printed as "Recorded win, pending sync: ID"). */
  async win(text: string): Promise<string> {
    const { stdout } = await this.cli(["win", text]);
    const match = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s*$/.exec(stdout.trim());
    if (!match?.[1]) throw new Error(`${this.name}: no event id in: ${stdout}`);
    return match[1];
  }

  /** `winledger redact ID` (or `retract`): the new event's id, read from the journal. */
  async takeBack(kind: "redact" | "retract", target: string, reason: string): Promise<string> {
    const before = await this.journal();
    await this.cli([kind, target, "--reason", reason]);
    const after = await this.journal();
    const known = new Set([...before.pending, ...before.synced]);
    const added = after.pending.filter((id) => !known.has(id));
    if (added.length !== 1) throw new Error(`${this.name}: winledger ${kind} added ${added.length} events`);
    return added[0]!;
  }

  async sync(): Promise<string> {
    return (await this.cli(["sync"])).stdout;
  }

  /** The journal as client_sdk reads it (no network). */
  async journal(): Promise<PythonJournal> {
    const result = await run(pythonBinary(), [join(supportSourceDir, "pydevice.py"), this.store], {
      env: isolatedEnv(this.home),
      timeoutMs: 60_000,
    });
    if (result.code !== 0) throw new Error(`${this.name}: pydevice.py failed:\n${result.stderr}`);
    return JSON.parse(result.stdout) as PythonJournal;
  }
}
