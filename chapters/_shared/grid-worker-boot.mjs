// The entry point of chapter 04's worker threads. On Node 20 a worker thread
// does not inherit tsx from `npx tsx`, so it registers tsx itself, then loads
// the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./grid-worker.ts");
