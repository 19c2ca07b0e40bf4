/**
 * Builds the browser page as ONE self-contained HTML file: the page's script,
 * the worker's script (started from a Blob URL), the styles and the digits
 * data are all inlined, so the file works when opened from disk (file://).
 *
 *   npx tsx web/build.ts [--out FILE]      (npm run web:build)
 *
 * The digits are read here, at build time, with the chapters' own loadDigits,
 * and inlined as base64 bytes (64 pixels 0..16 and the label per digit).
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { loadDigits } from "../chapters/_shared/datasets.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_OUT = resolve(ROOT, "dist/web/scratchnets.html");

/**
 * lib/data.ts and lib/weights-file.ts read and write files with node:fs, inside
 * functions the page never calls. In the bundle, those Node modules become stubs
 * whose functions throw, so the rest of each module runs unchanged.
 */
const NODE_STUBS: Record<string, string[]> = {
  "node:fs": ["readFileSync", "writeFileSync", "existsSync", "mkdirSync", "statSync", "accessSync", "constants"],
  "node:zlib": ["gunzipSync"],
  "node:path": ["dirname", "basename", "resolve", "join"],
};

const nodeStubs: Plugin = {
  name: "node-stubs",
  setup(b) {
    // lib/threads.ts starts Node worker threads for large products; the page computes on one thread.
    b.onResolve({ filter: /^\.\/threads\.ts$/ }, (args) =>
      dirname(args.importer) === resolve(ROOT, "lib") ? { path: resolve(ROOT, "web/one-thread.ts") } : undefined);
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (!(args.path in NODE_STUBS)) return { errors: [{ text: `${args.path} (imported by ${args.importer}) cannot run in the browser; the page must not import it` }] };
      return { path: args.path, namespace: "node-stub" };
    });
    b.onLoad({ filter: /.*/, namespace: "node-stub" }, (args) => ({
      contents: NODE_STUBS[args.path]
        .map((name) => `export const ${name} = () => { throw new Error("${args.path} ${name}: not available in the browser"); };`)
        .join("\n"),
      loader: "js",
    }));
  },
};

async function bundle(entry: string, define: Record<string, string> = {}): Promise<string> {
  const r = await build({
    entryPoints: [resolve(ROOT, entry)],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    define,
    plugins: [nodeStubs],
    logLevel: "silent",
  });
  return r.outputFiles[0].text;
}

/** The digits as base64: n rows of 65 bytes (64 pixels 0..16, then the label). */
export function digitsBase64(): { b64: string; n: number } {
  const d = loadDigits();
  const n = d.labels.length;
  const bytes = new Uint8Array(n * 65);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 64; k++) bytes[i * 65 + k] = d.images.data[i * 64 + k];
    bytes[i * 65 + 64] = d.labels[i];
  }
  return { b64: Buffer.from(bytes).toString("base64"), n };
}

/** `</script` inside inlined code would end the script element early. */
function inlineSafe(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1");
}

export async function buildPage(outFile = DEFAULT_OUT): Promise<{ path: string; bytes: number }> {
  const worker = await bundle("web/worker.ts");
  const digits = digitsBase64();
  const main = await bundle("web/main.ts", {
    __WORKER_SOURCE__: JSON.stringify(worker),
    __DIGITS_B64__: JSON.stringify(digits.b64),
  });
  const css = readFileSync(resolve(ROOT, "node_modules/uplot/dist/uPlot.min.css"), "utf8") + "\n" + readFileSync(resolve(ROOT, "web/style.css"), "utf8");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>scratchnets in the browser</title>
<style>
${css}
</style>
</head>
<body>
<noscript>This page needs JavaScript.</noscript>
<script>
${inlineSafe(main)}
</script>
</body>
</html>
`;
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, html);
  return { path: outFile, bytes: Buffer.byteLength(html) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let out = DEFAULT_OUT;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out" && args[i + 1]) out = resolve(args[++i]);
    else if (args[i] === "--help" || args[i] === "-h") {
      console.log("usage: npx tsx web/build.ts [--out FILE.html]   (default " + DEFAULT_OUT + ")");
      process.exit(0);
    } else {
      console.error(`web/build.ts: unknown argument '${args[i]}'; expected --out FILE.html`);
      process.exit(2);
    }
  }
  buildPage(out).then(
    (r) => console.log(`wrote ${r.path} (${(r.bytes / 1024).toFixed(0)} KiB, one self-contained file; open it in a browser)`),
    (e: Error) => {
      console.error(`web/build.ts: ${e.message}`);
      process.exit(1);
    },
  );
}
