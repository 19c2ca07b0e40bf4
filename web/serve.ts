/**
 * Builds the page and serves it on localhost.
 *
 *   npx tsx web/serve.ts [--port N]      (npm run web; default port 8013, or $PORT)
 *
 * Ctrl-C stops the server; a port that is taken is reported, with the way out.
 */
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { buildPage } from "./build.ts";

function parsePort(): number {
  const args = process.argv.slice(2);
  let raw = process.env.PORT ?? "8013";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--port" && i + 1 < args.length) raw = args[++i];
    else if (args[i] === "--help" || args[i] === "-h") {
      console.log("usage: npm run web [-- --port N]   builds the page and serves it on http://localhost:N/ (default 8013)");
      process.exit(0);
    } else {
      console.error(`web: unknown argument '${args[i]}'; expected --port N`);
      process.exit(2);
    }
  }
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`web: port '${raw}' is not an integer in 1..65535`);
    process.exit(2);
  }
  return port;
}

const port = parsePort();
const built = await buildPage().catch((e: Error) => {
  console.error(`web: the build failed: ${e.message}`);
  process.exit(1);
});
const html = readFileSync(built.path);
const server = createServer((req, res) => {
  if (req.url === "/" || req.url === "/index.html" || req.url?.startsWith("/#")) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(html);
  } else {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("not found: the page is at /\n");
  }
});
server.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EADDRINUSE") console.error(`web: port ${port} is already in use (another 'npm run web'?). Stop that one, or pick another port: npm run web -- --port ${port + 1}`);
  else if (e.code === "EACCES") console.error(`web: no permission to listen on port ${port}; pick a port above 1023: npm run web -- --port 8013`);
  else console.error(`web: cannot serve on port ${port}: ${e.message}`);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => {
  console.log(`built ${built.path} (${(built.bytes / 1024).toFixed(0)} KiB)`);
  console.log(`serving on http://localhost:${port}/   (Ctrl-C to stop)`);
});
const stop = (signal: string) => {
  console.log(`\nweb: ${signal}, stopping the server`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on("SIGINT", () => stop("Ctrl-C"));
process.on("SIGTERM", () => stop("SIGTERM"));
