import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** mobile/, from build/test/unit (compiled) or test/unit (source): the first parent holding package.json. */
export const packageRoot = fileURLToPath(new URL(import.meta.url.includes("/build/") ? "../../../" : "../../", import.meta.url));

export function readVectors(): any {
  return JSON.parse(readFileSync(fileURLToPath(new URL("../docs/protocol-vectors.json", "file://" + packageRoot)), "utf8"));
}
