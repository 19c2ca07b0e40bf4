// The browser page's build (web/build.ts): one file, small, digits inlined, no Node module left in it.
// The page itself is tested in Chromium by `npm run test:web`.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPage, digitsBase64 } from "../web/build.ts";
import { loadDigits } from "../chapters/_shared/datasets.ts";

test("the inlined digits decode to scikit-learn's 1797 digits, pixels and labels", () => {
  const { b64, n } = digitsBase64();
  const bytes = Buffer.from(b64, "base64");
  const d = loadDigits();
  assert.is(n, 1797);
  assert.is(bytes.length, 1797 * 65);
  for (const i of [0, 1, 900, 1796]) {
    for (let k = 0; k < 64; k++) assert.is(bytes[i * 65 + k], d.images.data[i * 64 + k]);
    assert.is(bytes[i * 65 + 64], d.labels[i]);
  }
});

test("one self-contained HTML file under 1 MB: scripts inline, no external file, no Node import", async () => {
  const dir = mkdtempSync(join(tmpdir(), "scratchnets-web-"));
  try {
    const r = await buildPage(join(dir, "page.html"));
    const html = readFileSync(r.path, "utf8");
    assert.ok(r.bytes < 1024 * 1024, `${r.bytes} bytes`);
    assert.not.match(html, /<script[^>]+src=/);
    assert.not.match(html, /<link[^>]+href=/);
    assert.not.match(html, /from\s*"node:|require\("node:/);
    // the worker source and the digits travel inside the page's script
    assert.ok(html.includes(digitsBase64().b64.slice(0, 200)));
    assert.is(html.match(/<\/script>/g)?.length, 1, "an inlined '</script' would end the script early");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
