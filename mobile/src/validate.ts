/**
 * Local validation and normalization of an event (sections 3 to 5): the per-type rules come from
 * the server's JSON Schema documents (src/generated/schemas.ts), the cross-field rules of section
 * 5.7 step 6 are written here.
 */
import { ValidationError } from "./errors.js";
import { EVENT_SCHEMAS } from "./generated/schemas.js";
import { check } from "./json-schema.js";
import { normalizeTimestamp } from "./time.js";
import type { EventFields } from "./types.js";

/** Types whose `project_id` may be null (section 4). */
export const PROJECT_OPTIONAL = new Set(["win.captured", "learning.noted", "event.retracted", "event.redacted"]);
/** Types whose `data.target` names another event. */
export const TARGETING = new Set(["event.retracted", "event.redacted"]);

const CLIENT_FIELDS = ["id", "device_id", "device_seq", "clock", "occurred_at", "type", "v", "project_id", "data"] as const;

/** The versions the generated schemas know, per type. */
export function knownVersions(type: string): number[] {
  const out: number[] = [];
  for (const key of Object.keys(EVENT_SCHEMAS)) {
    const at = key.lastIndexOf("@");
    if (key.slice(0, at) === type) out.push(Number(key.slice(at + 1)));
  }
  return out.sort((a, b) => a - b);
}

/** Whether this SDK knows the type at this version (and so can validate and redact it). */
export function isKnown(type: string, v: number): boolean {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, `${type}@${v}`);
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return true;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/** Strings that cannot go on the wire (lone surrogates) or into `data` (NUL). */
function checkStrings(value: unknown, path: string, inData: boolean): void {
  if (typeof value === "string") {
    if (hasLoneSurrogate(value)) throw new ValidationError(path, `${path} holds a lone UTF-16 surrogate, which cannot be encoded`);
    if (inData && value.includes("\u0000")) throw new ValidationError(path, `${path} contains U+0000 (NUL), which no string may hold`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkStrings(item, `${path}.${i}`, inData));
    return;
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (hasLoneSurrogate(k)) throw new ValidationError(path, `a key in ${path} holds a lone UTF-16 surrogate`);
      checkStrings(v, path === "" ? k : `${path}.${k}`, inData || (path === "" && k === "data"));
    }
  }
}

function isPresent(v: unknown): boolean {
  return v !== null && v !== undefined;
}

/**
 * Validates an event of a known type and version and returns its normalized form (5.1).
 * Throws `ValidationError` naming the field: `unknown_type`, `unsupported_version` or `invalid_event`.
 * Fields set to `undefined` count as absent.
 */
export function validateEvent(input: Record<string, unknown>): EventFields {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new ValidationError("", "an event must be an object");
  }
  // `undefined` is absent (as JSON would have it), at the top and in data.
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) raw[k] = v;
  if (raw.data !== null && typeof raw.data === "object" && !Array.isArray(raw.data)) {
    raw.data = Object.fromEntries(Object.entries(raw.data as Record<string, unknown>).filter(([, v]) => v !== undefined));
  }

  const type = raw.type;
  if (typeof type !== "string") throw new ValidationError("type", "type must be a string");
  const versions = knownVersions(type);
  if (versions.length === 0) throw new ValidationError("type", `type ${JSON.stringify(type)} is not known to this client`, "unknown_type");
  const v = raw.v;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new ValidationError("v", "v must be an integer");
  if (!versions.includes(v)) {
    throw new ValidationError("v", `version ${v} of ${JSON.stringify(type)} is not known here (known: ${versions.join(", ")})`, "unsupported_version");
  }

  checkStrings(raw, "", false);
  const problem = check(EVENT_SCHEMAS[`${type}@${v}`] as Record<string, unknown>, raw);
  if (problem) {
    // A schema that says a rule with `not`, or a timestamp by its pattern, cannot name the field
    // or the reason as well as the rules written here: let them speak first when they apply.
    if (problem.path === "occurred_at" && typeof raw.occurred_at === "string") {
      const t = normalizeTimestamp(raw.occurred_at);
      if ("error" in t) throw new ValidationError("occurred_at", t.error);
    }
    if (problem.generic && raw.data !== null && typeof raw.data === "object") crossFieldRules(type, raw);
    throw new ValidationError(problem.path, problem.message);
  }

  const occurred = normalizeTimestamp(raw.occurred_at as string);
  if ("error" in occurred) throw new ValidationError("occurred_at", occurred.error);
  crossFieldRules(type, raw);

  const data = raw.data as Record<string, unknown>;
  const projectId = isPresent(raw.project_id) ? (raw.project_id as string) : null;
  const normalizedData: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(data)) {
    if (!isPresent(value)) continue;
    if (type === "metric.observed" && v >= 2 && k === "measure" && value === "level") continue;
    normalizedData[k] = typeof value === "number" && Object.is(value, -0) ? 0 : value;
  }
  const event = {
    id: raw.id,
    device_id: raw.device_id,
    device_seq: raw.device_seq,
    clock: raw.clock,
    occurred_at: occurred.value,
    type,
    v,
    project_id: projectId,
    data: normalizedData,
  } as EventFields;
  for (const k of Object.keys(raw)) {
    if (!(CLIENT_FIELDS as readonly string[]).includes(k)) throw new ValidationError(k, `${k} is not a field of an event`);
  }
  return event;
}

/** The rules across fields (section 5.7, step 6). */
function crossFieldRules(type: string, raw: Record<string, unknown>): void {

  const data = raw.data as Record<string, unknown>;
  if (!isPresent(raw.project_id) && !PROJECT_OPTIONAL.has(type)) {
    throw new ValidationError("project_id", `project_id is required for ${type}`);
  }
  if (type === "project.updated" && !["name", "kind", "summary", "team"].some((k) => isPresent(data[k]))) {
    throw new ValidationError("data", "a project.updated must change at least one of name, kind, summary or team");
  }
  if (type === "metric.observed") {
    const { low, high, value } = data as { low?: number | null; high?: number | null; value: number };
    if (isPresent(low) !== isPresent(high)) {
      throw new ValidationError(isPresent(low) ? "data.high" : "data.low", "low and high come together or not at all");
    }
    if (typeof low === "number" && typeof high === "number") {
      if ((low as number) > (high as number)) throw new ValidationError("data.low", `low (${low}) must not be above high (${high})`);
      if (value < (low as number) || value > (high as number)) {
        throw new ValidationError("data.value", `value (${value}) must lie between low (${low}) and high (${high})`);
      }
    }
  }
  if (type === "event.redacted" && data.target === raw.id) {
    throw new ValidationError("data.target", "a redaction cannot name itself as its target");
  }
}
