/** Inlined by web/build.ts (esbuild's define). */
declare const __WORKER_SOURCE__: string;
declare const __DIGITS_B64__: string;
