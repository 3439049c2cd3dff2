"""The JavaScript of protocol section 8.2, run with Node.js, gives the canonical forms, hashes and digests
of docs/protocol-vectors.json: what a JavaScript client written from the page computes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"
NODE = shutil.which("node")

CHECK = """
const fs = require("fs"), crypto = require("crypto");
const data = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = {events: {}, digests: [], numbers: []};
const h = {};
for (const v of data.events) {
  const canonical = jcs(v.normalized);
  const sha256 = crypto.createHash("sha256").update(canonical, "utf8").digest("hex");
  out.events[v.id] = {jcs: canonical, sha256: sha256};
  h[v.id] = BigInt("0x" + sha256.slice(0, 32));
}
for (const d of data.digests) {
  const sum = d.events.reduce((total, id) => total + h[id], 0n);
  out.digests.push((sum % (1n << 128n)).toString(16).padStart(32, "0"));
}
for (const n of data.jcs_numbers) out.numbers.push(jcs(Buffer.from(n.bits, "hex").readDoubleBE(0)));
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_the_pages_javascript_computes_the_vectors(tmp_path: Path) -> None:
    section = (DOCS / "protocol.md").read_text(encoding="utf-8").split("### 8.2 ")[1].split("### 8.3 ")[0]
    snippet = re.search(r"^```js\n(.*?)\n```$", section, re.MULTILINE | re.DOTALL)
    assert snippet is not None
    script = tmp_path / "check.js"
    script.write_text(snippet[1] + "\n" + CHECK, encoding="utf-8")
    vectors = DOCS / "protocol-vectors.json"
    assert NODE is not None
    run = subprocess.run(
        [NODE, str(script), str(vectors)], capture_output=True, text=True, timeout=60, check=True
    )
    computed = json.loads(run.stdout)
    data = json.loads(vectors.read_text(encoding="utf-8"))
    assert computed["events"] == {v["id"]: {"jcs": v["jcs"], "sha256": v["sha256"]} for v in data["events"]}
    assert computed["digests"] == [d["digest"] for d in data["digests"]]
    assert computed["numbers"] == [n["jcs"] for n in data["jcs_numbers"]]
