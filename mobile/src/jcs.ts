/** JCS (RFC 8785) canonical JSON, the event hash `h` and the digest of section 8. */

/**
 * The RFC 8785 canonical text of a JSON value: keys sorted by UTF-16 code units at every level,
 * no whitespace, numbers and strings as ECMAScript writes them (`JSON.stringify`).
 * Object members whose value is `undefined` are left out, as JSON would.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new TypeError(`${value} is not a JSON number`);
    }
    if (typeof value === "bigint" || typeof value === "function" || typeof value === "symbol" || value === undefined) {
      throw new TypeError(`a ${typeof value} is not a JSON value`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(obj[k])).join(",") + "}";
}

const encoder = new TextEncoder();

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** SHA-256 of a string's UTF-8 bytes, as 64 lowercase hex digits (WebCrypto). */
export async function sha256Hex(text: string): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error("WebCrypto (crypto.subtle) is not available: SHA-256 cannot be computed");
  const digest = await subtle.digest("SHA-256", encoder.encode(text));
  return hex(new Uint8Array(digest));
}

/** `h` of a canonical text: the first 16 bytes of its SHA-256, as 32 lowercase hex digits. */
export async function hashOfCanonical(canonical: string): Promise<string> {
  return (await sha256Hex(canonical)).slice(0, 32);
}

/**
 * `h` of an event in normalized form (its nine client fields; `seq` and `received_at`, if present,
 * are left out), as 32 lowercase hex digits.
 */
export async function eventHash(event: object): Promise<string> {
  const { seq: _seq, received_at: _received, ...fields } = event as Record<string, unknown>;
  return hashOfCanonical(canonicalJson(fields));
}

const MOD = 1n << 128n;

/** The digest of a set of `h` values (32 hex digits each): their sum mod 2^128, as 32 hex digits. */
export function digestOfHashes(hashes: Iterable<string>): string {
  let sum = 0n;
  for (const h of hashes) sum = (sum + BigInt("0x" + h)) % MOD;
  return sum.toString(16).padStart(32, "0");
}

/**
 * The digest (section 8) of a set of events. Each item is an event in normalized form, or its `h`
 * as a 32-digit hex string.
 */
export async function digestOf(items: Iterable<object | string>): Promise<string> {
  const hashes: string[] = [];
  for (const item of items) hashes.push(typeof item === "string" ? item : await eventHash(item));
  return digestOfHashes(hashes);
}
