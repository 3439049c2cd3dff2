// Generated clients compile: /openapi.json, as the server builds it, through openapi-typescript, OpenAPI
// Generator typescript-fetch and OpenAPI Generator kotlin (issue 18).
//
// The document is dumped by Python from the app's own builder (`server.http.openapi.build` with default
// settings: what GET /openapi.json serves from a `winledger serve` with default settings), so no server
// process is needed. Python is $WINLEDGER_PYTHON, else the repository's .venv, else python3; OpenAPI
// Generator is the `openapi-generator-cli` of the PyPI package (the jar bundled, run on the machine's
// Java 17), installed beside that Python by `pip install -e ".[test]"`.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGE = resolve(HERE, "..");
const REPO = resolve(PACKAGE, "../..");
const OUT = join(PACKAGE, "out");
const BIN = join(PACKAGE, "node_modules", ".bin");
const PYTHON =
  process.env.WINLEDGER_PYTHON ??
  (existsSync(join(REPO, ".venv/bin/python")) ? join(REPO, ".venv/bin/python") : "python3");
const GENERATOR = existsSync(join(dirname(PYTHON), "openapi-generator-cli"))
  ? join(dirname(PYTHON), "openapi-generator-cli")
  : "openapi-generator-cli";
const SPEC = join(OUT, "openapi.json");
const WIDE = [
  // Fields that need more than 32 bits (docs/protocol.md 3.3, 5.4, 6): each must come out as a Long.
  "clock", "device_seq", "seq", "cursor", "count", "after", "limit", "as_of_seq", "max_integer",
];
const TSC_FLAGS = ["--strict", "--noEmit", "--target", "ES2022", "--module", "ES2022",
  "--moduleResolution", "bundler", "--lib", "ES2022,DOM", "--pretty", "false"];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  if (result.error) throw result.error;
  assert.equal(result.status, 0, `${command} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function tsc(files, cwd) {
  // 0 errors: tsc exits non-zero and prints each error otherwise.
  const result = spawnSync(join(BIN, "tsc"), [...TSC_FLAGS, ...files], { cwd, encoding: "utf8" });
  const errors = (result.stdout.match(/error TS\d+/g) ?? []).length;
  assert.equal(errors, 0, `tsc --strict found ${errors} errors:\n${result.stdout}${result.stderr}`);
  assert.equal(result.status, 0, result.stdout + result.stderr);
}

function generate(generator, output, properties = []) {
  rmSync(output, { recursive: true, force: true });
  const extra = properties.length ? [`--additional-properties=${properties.join(",")}`] : [];
  run(GENERATOR, ["generate", "-g", generator, "-i", SPEC, "-o", output, "--skip-validate-spec", ...extra]);
}

function files(directory, suffix) {
  return readdirSync(directory, { recursive: true })
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(directory, name));
}

let spec;

before(() => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const dump =
    "import json, sys\n" +
    "from server.http.openapi import build\n" +
    "from server.settings import Settings\n" +
    "sys.stdout.write(json.dumps(build(Settings()), indent=1))\n";
  writeFileSync(SPEC, run(PYTHON, ["-c", dump], { cwd: REPO }));
  spec = JSON.parse(readFileSync(SPEC, "utf8"));
});

// -- the protocol's own examples ------------------------------------------------------------------

/** The HTTP exchanges of a page: each request block with the response block that follows it. */
function exchanges(page) {
  const text = readFileSync(join(REPO, "docs", page), "utf8");
  const blocks = [...text.matchAll(/^```http\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  const found = [];
  for (let index = 0; index < blocks.length; index += 1) {
    const request = blocks[index];
    const line = request.split("\n", 1)[0];
    const call = /^(GET|POST) (\/v1\/(?:events|sync))(?:\?\S*)? HTTP\/1\.1$/.exec(line);
    if (!call || !blocks[index + 1]?.startsWith("HTTP/1.1 ")) continue;
    const response = blocks[index + 1];
    found.push({
      where: `${page}: ${line}`,
      method: call[1],
      path: call[2],
      status: Number(response.split(" ", 2)[1]),
      request: body(request),
      response: body(response),
    });
    index += 1;
  }
  return found;
}

function body(block) {
  const start = block.indexOf("\n\n");
  if (start < 0) return undefined;
  try {
    return JSON.parse(block.slice(start + 2));
  } catch {
    return undefined; // the page's deliberately truncated or malformed bodies (section 7)
  }
}

const MALFORMED = new Set(["invalid_event", "unknown_type", "unsupported_version"]);

/** Each example body with the schema it is typed as: requests the server took as well-formed, every
 * 200 answer of a push, sync and pull. A request with an event the server calls malformed, or a
 * request answered with a problem, is an example of a bad request, and is not typed. */
function typedExamples() {
  const examples = [];
  for (const exchange of [...exchanges("protocol.md"), ...exchanges("protocol-examples.md")]) {
    const { method, path, status, request, response, where } = exchange;
    const kind = method === "GET" ? "Pull" : path === "/v1/sync" ? "Sync" : "Push";
    if (status !== 200 || response === undefined) continue;
    examples.push({ where, schema: `${kind}Response`, value: response });
    const wellFormed = (response.results ?? []).every((result) => !MALFORMED.has(result.code));
    if (method === "POST" && request !== undefined && wellFormed) {
      examples.push({ where, schema: `${kind}Request`, value: request });
    }
  }
  return examples;
}

// -- openapi-typescript -----------------------------------------------------------------------------

test("openapi-typescript output compiles under tsc --strict with the protocol's push, sync and pull examples", (t) => {
  const directory = join(OUT, "openapi-typescript");
  mkdirSync(directory, { recursive: true });
  run(join(BIN, "openapi-typescript"), [SPEC, "-o", join(directory, "schema.ts")]);
  const examples = typedExamples();
  const counts = {};
  for (const { schema } of examples) counts[schema] = (counts[schema] ?? 0) + 1;
  for (const schema of ["PushRequest", "PushResponse", "SyncRequest", "SyncResponse", "PullResponse"]) {
    assert.ok(counts[schema] >= 2, `only ${counts[schema] ?? 0} examples of ${schema} found in the docs`);
  }
  t.diagnostic(`examples typed: ${JSON.stringify(counts)}`);
  const pulled = examples.filter((e) => e.schema !== "PushResponse" && e.value.events)
    .flatMap((e) => e.value.events);
  assert.ok(new Set(pulled.map((event) => event.type)).size >= 8, "the examples cover most event types");
  const lines = [
    'import type { components } from "./schema";',
    "type S = components[\"schemas\"];",
    ...examples.map(
      ({ where, schema, value }, index) =>
        `// ${where}\nexport const example${index}: S[${JSON.stringify(schema)}] = ${JSON.stringify(value, null, 1)};`,
    ),
    // What a TypeScript author relies on, beyond the examples: @ts-expect-error fails the compile when
    // the line it marks is NOT an error.
    "export function pulledEventsAreToldApart(event: S[\"StoredEvent\"]): string {",
    "  if (event.type === \"win.captured\") return event.data.text;",
    "  if (event.type === \"metric.observed\" && event.v === 2) return event.data.measure ?? \"level\";",
    "  if (event.type === \"metric.observed\") {",
    "    // @ts-expect-error version 1 has no measure",
    "    return event.data.measure;",
    "  }",
    "  const seq: number = event.seq;",
    "  return `${event.received_at} ${seq} ${event.project_id ?? \"no project\"}`;",
    "}",
    "export const codes: S[\"EventResult\"][\"code\"][] = [\"unknown_type\", \"unsupported_version\",",
    "  \"invalid_event\", \"id_conflict\", \"device_seq_conflict\", null];",
    "// @ts-expect-error a result's code is one of the five",
    "export const notACode: S[\"EventResult\"][\"code\"] = \"nope\";",
    "export const problem: S[\"Problem\"][\"code\"] = \"cursor_ahead\";",
    "// @ts-expect-error a problem's code is one of section 7's",
    "export const notAProblem: S[\"Problem\"][\"code\"] = \"nope\";",
    "export const optionalFieldsLeftOut: S[\"PushRequest\"] = { events: [{ id: \"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80\",",
    "  device_id: \"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f81\", device_seq: 1, clock: 1814981530022912,",
    "  occurred_at: \"2026-03-02T09:15:00Z\", type: \"win.captured\", v: 1, data: { text: \"t\", source: \"text\" } }] };",
    "export const syncWithoutPaging: S[\"SyncRequest\"] = { events: [] };",
    "export const milestoneNeedsItsProject: S[\"PushRequest\"] = { events: [",
    "  // @ts-expect-error project_id is required for milestone.reached",
    "  { id: \"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80\", device_id: \"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f81\", device_seq: 1, clock: 1, occurred_at: \"2026-03-02T09:15:00Z\", type: \"milestone.reached\", v: 1, data: { milestone: \"deployed\" } },",
    "] };",
    "",
  ];
  writeFileSync(join(directory, "examples.ts"), lines.join("\n"));
  tsc(["schema.ts", "examples.ts"], directory);
});

// -- OpenAPI Generator: typescript-fetch -----------------------------------------------------------

test("OpenAPI Generator typescript-fetch output compiles under tsc --strict", () => {
  const directory = join(OUT, "typescript-fetch");
  generate("typescript-fetch", directory);
  const union = readFileSync(join(directory, "models", "PushRequestEventsInner.ts"), "utf8");
  const members = /export type PushRequestEventsInner = ([^;]+);/.exec(union)[1].split(" | ");
  assert.equal(members.length, 11, `one member per type and version: ${members}`);
  assert.ok(members.includes("MetricObserved") && members.includes("MetricObservedV1Event"));
  tsc(files(directory, ".ts").map((file) => file.slice(directory.length + 1)), directory);
});

// -- OpenAPI Generator: kotlin ---------------------------------------------------------------------

test("OpenAPI Generator kotlin types every 53-bit field as Long and keeps one type per event version", () => {
  const directory = join(OUT, "kotlin");
  generate("kotlin", directory, [
    "library=jvm-retrofit2",
    "serializationLibrary=kotlinx_serialization",
    "generateOneOfAnyOfWrappers=true",
  ]);
  const sources = files(join(directory, "src", "main", "kotlin"), ".kt");
  // Every integer the document marks int64 (by schema and property, and the query parameters), the
  // named 53-bit fields among them, is a Long in the class or the API method generated for it.
  const wide = new Map(); // Kotlin file name -> JSON names
  for (const [schemaName, schema] of Object.entries(spec.components.schemas)) {
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      const branches = [property, ...(property.anyOf ?? [])];
      if (branches.some((branch) => branch.type === "integer" && branch.format === "int64")) {
        wide.set(`${schemaName}.kt`, [...(wide.get(`${schemaName}.kt`) ?? []), name]);
      }
    }
  }
  const parameters = new Set();
  for (const item of Object.values(spec.paths)) {
    for (const operation of Object.values(item)) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.schema.format === "int64") parameters.add(parameter.name);
      }
    }
  }
  const seen = new Set();
  let checked = 0;
  for (const file of sources) {
    const text = readFileSync(file, "utf8");
    const name = file.slice(file.lastIndexOf("/") + 1);
    const typed = new Map();
    for (const match of text.matchAll(/@SerialName\(value = "(\w+)"\)\s+val `?\w+`?: ([\w.<>]+)/g)) {
      typed.set(match[1], match[2]);
    }
    for (const field of wide.get(name) ?? []) {
      assert.ok(typed.has(field), `${name} has no property ${field}`);
      assert.match(typed.get(field), /^kotlin\.Long\??$/, `${field} in ${name} is ${typed.get(field)}`);
      seen.add(field);
      checked += 1;
    }
    for (const match of text.matchAll(/@Query\("(\w+)"\) `?\w+`?: ([\w.<>]+)/g)) {
      if (!parameters.has(match[1])) continue;
      assert.match(match[2], /^kotlin\.Long\??$/, `query parameter ${match[1]} in ${name} is ${match[2]}`);
      seen.add(match[1]);
      checked += 1;
    }
  }
  for (const field of WIDE) assert.ok(seen.has(field), `${field} was not found as a Long in the Kotlin output`);
  assert.ok(checked >= 40, `only ${checked} 53-bit fields checked`);
  // The event unions: a sealed interface with one wrapper per type and version, each around the
  // event's own class, whose data is its own payload class.
  const models = join(directory, "src", "main", "kotlin", "org", "openapitools", "client", "models");
  for (const [union, prefix] of [["PushRequestEventsInner", ""], ["StoredEvent", "Stored"]]) {
    const text = readFileSync(join(models, `${union}.kt`), "utf8");
    assert.match(text, new RegExp(`sealed interface ${union}\\b`));
    const wrapped = [...text.matchAll(/value class \w+\(val value: (\w+)\) : /g)].map((m) => m[1]);
    assert.equal(new Set(wrapped).size, 11, `${union} wraps ${wrapped}`);
    for (const [event, payload] of [
      ["WinCaptured", "WinCapturedV1"],
      ["MetricObservedV1Event", "MetricObservedV1"],
      ["MetricObserved", "MetricObservedV2"],
      ["EventRedacted", "EventRedactedV1"],
    ]) {
      assert.ok(wrapped.includes(prefix + event), `${union} has no member ${prefix + event}`);
      const model = readFileSync(join(models, `${prefix + event}.kt`), "utf8");
      assert.match(model, new RegExp(`val \`data\`: ${payload}\\b`), `${prefix + event}'s data`);
    }
  }
});
