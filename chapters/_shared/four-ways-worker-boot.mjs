// The entry point of chapter 09's worker threads: registers tsx in the thread (Node 20
// does not pass it on from `npx tsx`), then loads the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./four-ways-worker.ts");
