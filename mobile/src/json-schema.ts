/**
 * A small JSON Schema (2020-12) interpreter: the keywords the exported event documents use.
 * type, enum, const, pattern, minLength/maxLength (code points), minimum/maximum (and the
 * exclusive ones), multipleOf, items/prefixItems, minItems/maxItems, properties, required,
 * additionalProperties, patternProperties, minProperties/maxProperties, dependentRequired,
 * allOf/anyOf/oneOf/not, if/then/else, and $ref into the same document ($defs, definitions).
 * Annotations (title, description, default, examples, discriminator, format) are ignored.
 */

export interface SchemaProblem {
  /** Path of the value at fault, `data.text`, `tags.3`, or "" for the whole value. */
  path: string;
  message: string;
  /** True when the problem comes from a `not` (the schema cannot say which field is at fault). */
  generic?: boolean;
}

type Schema = boolean | Record<string, unknown>;

const patterns = new Map<string, RegExp>();

function regex(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) {
    // Python's `\Z` and `\A` (end and start of the string) have no JavaScript spelling: `$`, `^` without the m flag.
    const js = pattern.replace(/\\Z/g, "$").replace(/\\A/g, "^");
    try {
      re = new RegExp(js, "u");
    } catch {
      re = new RegExp(js);
    }
    patterns.set(pattern, re);
  }
  return re;
}

function join(path: string, key: string | number): string {
  return path === "" ? String(key) : `${path}.${key}`;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return !Number.isFinite(value) ? "non-finite number" : Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  if (type === "number") return actual === "number" || actual === "integer";
  return actual === type;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? text.slice(0, 57) + "..." : text;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function resolve(root: Schema, ref: string): Schema {
  if (!ref.startsWith("#")) throw new Error(`only local $ref are supported, got ${ref}`);
  let node: unknown = root;
  for (const raw of ref.slice(1).split("/").filter(Boolean)) {
    const part = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    node = (node as Record<string, unknown>)?.[part];
    if (node === undefined) throw new Error(`$ref ${ref} does not resolve`);
  }
  return node as Schema;
}

/** The first problem of `value` against `schema` (whose `$ref`s resolve in `root`), or null if it conforms. */
export function check(schema: Schema, value: unknown, root: Schema = schema, path = ""): SchemaProblem | null {
  if (schema === true) return null;
  if (schema === false) return { path, message: `${path || "the value"} is not allowed` };
  const s = schema;
  const here = path || "the value";

  if (typeof s.$ref === "string") {
    const problem = check(resolve(root, s.$ref), value, root, path);
    if (problem) return problem;
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => hasType(value, t))) {
      return { path, message: `${here} must be ${types.map((t) => (t === "null" ? "null" : `a${/^[aeiou]/.test(t) ? "n" : ""} ${t}`)).join(" or ")}, not ${show(value)}` };
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => equal(e, value))) {
    return { path, message: `${here} must be one of ${s.enum.map((e) => show(e)).join(", ")}, not ${show(value)}` };
  }
  if ("const" in s && !equal(s.const, value)) {
    return { path, message: `${here} must be ${show(s.const)}, not ${show(value)}` };
  }
  if (typeof value === "string") {
    if (typeof s.minLength === "number" || typeof s.maxLength === "number") {
      const n = codePoints(value);
      if (typeof s.minLength === "number" && n < s.minLength) {
        return { path, message: s.minLength === 1 ? `${here} must not be empty` : `${here} must have at least ${s.minLength} characters, not ${n}` };
      }
      if (typeof s.maxLength === "number" && n > s.maxLength) {
        return { path, message: `${here} must have at most ${s.maxLength} characters (code points), not ${n}` };
      }
    }
    if (typeof s.pattern === "string" && !regex(s.pattern).test(value)) {
      const shown = s.pattern.length > 60 ? s.pattern.slice(0, 57) + "..." : s.pattern;
      return { path, message: `${here} ${show(value)} does not match ${shown}` };
    }
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) return { path, message: `${here} must be at least ${s.minimum}, not ${value}` };
    if (typeof s.maximum === "number" && value > s.maximum) return { path, message: `${here} must be at most ${s.maximum}, not ${value}` };
    if (typeof s.exclusiveMinimum === "number" && value <= s.exclusiveMinimum) return { path, message: `${here} must be above ${s.exclusiveMinimum}, not ${value}` };
    if (typeof s.exclusiveMaximum === "number" && value >= s.exclusiveMaximum) return { path, message: `${here} must be below ${s.exclusiveMaximum}, not ${value}` };
    if (typeof s.multipleOf === "number" && !Number.isInteger(value / s.multipleOf)) return { path, message: `${here} must be a multiple of ${s.multipleOf}` };
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) return { path, message: `${here} must have at least ${s.minItems} items, not ${value.length}` };
    if (typeof s.maxItems === "number" && value.length > s.maxItems) return { path, message: `${here} must have at most ${s.maxItems} items, not ${value.length}` };
    const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as Schema[]) : [];
    for (let i = 0; i < value.length; i++) {
      const itemSchema = i < prefix.length ? prefix[i] : (s.items as Schema | undefined);
      if (itemSchema === undefined) continue;
      const problem = check(itemSchema, value[i], root, join(path, i));
      if (problem) return problem;
    }
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    for (const name of Array.isArray(s.required) ? (s.required as string[]) : []) {
      if (!(name in obj)) return { path: join(path, name), message: `${join(path, name)} is required` };
    }
    if (typeof s.minProperties === "number" && keys.length < s.minProperties) return { path, message: `${here} must have at least ${s.minProperties} field(s)` };
    if (typeof s.maxProperties === "number" && keys.length > s.maxProperties) return { path, message: `${here} must have at most ${s.maxProperties} field(s)` };
    const props = (s.properties ?? {}) as Record<string, Schema>;
    const patternProps = (s.patternProperties ?? {}) as Record<string, Schema>;
    for (const key of keys) {
      let matched = false;
      if (Object.prototype.hasOwnProperty.call(props, key)) {
        matched = true;
        const problem = check(props[key] as Schema, obj[key], root, join(path, key));
        if (problem) return problem;
      }
      for (const [p, sub] of Object.entries(patternProps)) {
        if (regex(p).test(key)) {
          matched = true;
          const problem = check(sub, obj[key], root, join(path, key));
          if (problem) return problem;
        }
      }
      if (!matched && s.additionalProperties !== undefined) {
        if (s.additionalProperties === false) return { path: join(path, key), message: `${join(path, key)} is not a field of this event` };
        const problem = check(s.additionalProperties as Schema, obj[key], root, join(path, key));
        if (problem) return problem;
      }
    }
    if (s.dependentRequired && typeof s.dependentRequired === "object") {
      for (const [key, needs] of Object.entries(s.dependentRequired as Record<string, string[]>)) {
        if (!(key in obj)) continue;
        for (const need of needs) {
          if (!(need in obj)) return { path: join(path, need), message: `${join(path, need)} is required when ${join(path, key)} is given` };
        }
      }
    }
  }
  if (Array.isArray(s.allOf)) {
    for (const sub of s.allOf as Schema[]) {
      const problem = check(sub, value, root, path);
      if (problem) return problem;
    }
  }
  if (Array.isArray(s.anyOf)) {
    const problems = (s.anyOf as Schema[]).map((sub) => check(sub, value, root, path));
    if (!problems.some((p) => p === null)) return closest(problems as SchemaProblem[], path);
  }
  if (Array.isArray(s.oneOf)) {
    const problems = (s.oneOf as Schema[]).map((sub) => check(sub, value, root, path));
    const passed = problems.filter((p) => p === null).length;
    if (passed === 0) return closest(problems as SchemaProblem[], path);
    if (passed > 1) return { path, message: `${here} matches more than one of its allowed forms` };
  }
  if (s.not !== undefined && check(s.not as Schema, value, root, path) === null) {
    return { path, message: `${here} is not allowed here`, generic: true };
  }
  if (s.if !== undefined) {
    const branch = check(s.if as Schema, value, root, path) === null ? s.then : s.else;
    if (branch !== undefined) {
      const problem = check(branch as Schema, value, root, path);
      if (problem) return problem;
    }
  }
  return null;
}

/**
 * Of the problems of each alternative, the most telling: the one found deepest in the value
 * (an alternative whose shape fitted and failed further in), else the first one.
 */
function closest(problems: SchemaProblem[], path: string): SchemaProblem {
  let best = problems[0] ?? { path, message: `${path || "the value"} has no allowed form` };
  for (const p of problems) if (p.path.length > best.path.length) best = p;
  if (best.path === path) {
    // Every alternative failed at this value itself: say what they wanted, e.g. "a string or null".
    const typed = problems.find((p) => !/must be (a|an|null)\b/.test(p.message));
    return typed ?? best;
  }
  return best;
}
