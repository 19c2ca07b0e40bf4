/**
 * npm says what went wrong: `npm ci` with a lockfile that is out of date
 * (package.json asks for a local package the lockfile lacks) exits non-zero
 * and prints npm's own error, under the repository's npm configuration.
 * Offline: the check fails before anything is fetched.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

test("npm ci with an out-of-date lockfile prints npm's error", () => {
  const dir = mkdtempSync(join(tmpdir(), "scratchnets-npmci-"));
  copyFileSync(join(root, "package-lock.json"), join(dir, "package-lock.json"));
  if (existsSync(join(root, ".npmrc"))) copyFileSync(join(root, ".npmrc"), join(dir, ".npmrc"));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  pkg.dependencies = { ...pkg.dependencies, "scratchnets-local-probe": "file:./probe" };
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2));
  mkdirSync(join(dir, "probe"));
  writeFileSync(join(dir, "probe", "package.json"), JSON.stringify({ name: "scratchnets-local-probe", version: "1.0.0" }));
  const r = spawnSync("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: dir, encoding: "utf8", timeout: 60000 });
  assert.ok(r.status !== 0, `npm ci should fail, exit ${r.status}`);
  assert.match(r.stderr, /npm error .*in sync/);
  assert.match(r.stderr, /Missing: scratchnets-local-probe@1\.0\.0 from lock file/);
});

test.run();
