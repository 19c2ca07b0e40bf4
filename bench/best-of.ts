/**
 * The best of several processes' figures (bench/index.ts --processes): for every figure, the least time
 * or the highest rate, told apart by its name (…Ms, …ms, …Ms2Threads, …Ms1ThreadWall: a time; …PerSec,
 * gflops, matmul2Threads: a rate). Sizes and labels (n, m, k, form, use, epochs) must agree between the
 * processes (bestOf throws if they do not); a list of plain numbers (every run of a benchmark, e.g.
 * extrapolationRunsMs) keeps every process's runs.
 */

export type Better = "min" | "max" | "same";

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isNumberList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

/** A figure's labels and sizes, not measurements. */
const CONFIG = /^(n|m|k|T|use|form|epochs|extrapolationEpochs)$/;

/** Which of two values of the figure at `path` (keys from the top, list items as "[…]") is the better. */
export function direction(path: readonly string[]): Better {
  const names = path.filter((s) => !s.startsWith("["));
  if (names.length === 0 || CONFIG.test(names[names.length - 1])) return "same";
  // the nearest name with a unit: extrapolationMs.rnn is a time, householderQRMs.fast too
  for (let i = names.length - 1; i >= 0; i--) {
    if (/(Ms|ms)(\d+Threads?(Wall)?)?$/.test(names[i])) return "min";
    if (/(PerSec|gflops)$/.test(names[i]) || names[i] === "matmul2Threads") return "max";
  }
  return "same";
}

/** The figures of two processes, merged: each measurement the better of the two. */
export function bestOf(a: unknown, b: unknown, path: readonly string[] = []): unknown {
  const where = path.join(".") || "the results";
  if (typeof a === "number" && typeof b === "number") {
    const d = direction(path);
    if (d === "same" && !Object.is(a, b)) throw new Error(`bench: the processes disagree on ${where}: ${a} and ${b}`);
    return d === "min" ? Math.min(a, b) : d === "max" ? Math.max(a, b) : a;
  }
  if (isNumberList(a) && isNumberList(b)) return [...a, ...b];
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`bench: the processes disagree on ${where}: ${a.length} and ${b.length} entries`);
    return a.map((x, i) => bestOf(x, b[i], [...path, `[${itemLabel(x, i)}]`]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length || keys.some((k) => !(k in b))) throw new Error(`bench: the processes disagree on the keys of ${where}`);
    return Object.fromEntries(keys.map((k) => [k, bestOf(a[k], b[k], [...path, k])]));
  }
  if (a !== b) throw new Error(`bench: the processes disagree on ${where}: ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
  return a;
}

/** A list item's name: its labels and sizes in the item's key order (e.g. "n=256 AB"), else its index. */
function itemLabel(x: unknown, i: number): string {
  if (!isRecord(x)) return String(i);
  const parts = Object.entries(x).filter(([k, v]) => typeof v === "string" || (typeof v === "number" && CONFIG.test(k))).map(([k, v]) => (typeof v === "string" ? v : `${k}=${v}`));
  return parts.length > 0 ? parts.join(" ") : String(i);
}

/** Every measured figure (a time or a rate) of `v`, by its path written out ("rnn.lstm128T100Ms", "matmul[n=256 AB].gflops"). */
export function measurements(v: unknown, path: readonly string[] = []): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (x: unknown, p: readonly string[]): void => {
    if (typeof x === "number") {
      if (direction(p) !== "same") out.set(p.map((s, i) => (i === 0 || s.startsWith("[") ? s : "." + s)).join(""), x);
    } else if (Array.isArray(x) && !isNumberList(x)) x.forEach((y, i) => walk(y, [...p, `[${itemLabel(y, i)}]`]));
    else if (isRecord(x)) for (const [k, y] of Object.entries(x)) walk(y, [...p, k]);
  };
  walk(v, path);
  return out;
}

/**
 * The numbers in `v` that are neither a measurement (a time or a rate, by name) nor a size or label: figures
 * that bestOf could not merge. bench/index.ts refuses to report a run that has any.
 */
export function unclassified(v: unknown, path: readonly string[] = []): string[] {
  const out: string[] = [];
  const walk = (x: unknown, p: readonly string[]): void => {
    if (typeof x === "number") {
      const names = p.filter((s) => !s.startsWith("["));
      if (direction(p) === "same" && !CONFIG.test(names[names.length - 1] ?? "")) out.push(p.join("."));
    } else if (Array.isArray(x)) x.forEach((y, i) => walk(y, [...p, `[${itemLabel(y, i)}]`]));
    else if (isRecord(x)) for (const [k, y] of Object.entries(x)) walk(y, [...p, k]);
  };
  walk(v, path);
  return out;
}

/** How far apart one figure's values from several processes are: largest / smallest − 1 (0 = all equal). */
export function spread(values: readonly number[]): number {
  const lo = Math.min(...values), hi = Math.max(...values);
  return lo > 0 ? hi / lo - 1 : 0;
}
