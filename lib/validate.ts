/** Argument checks at the door of the model's public methods: each throws one message naming the value and what was expected. */
import { Tensor } from "./matrix.ts";

/** What a value is, for a message: "an array of 3", "a number", "null". */
function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return `a ${(v as object).constructor?.name ?? "object"}`;
  return `${typeof v} ${String(v)}`;
}

export function requireTensor(who: string, name: string, v: unknown): asserts v is Tensor {
  if (!(v instanceof Tensor)) throw new Error(`${who}: ${name} must be a Tensor (e.g. fromArray(rows)), got ${kind(v)}`);
}

export function requirePositiveInteger(who: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`${who}: ${name} must be a positive integer, got ${typeof v === "number" ? v : kind(v)}`);
}

/** The first sample (row along axis 0) holding NaN or ±∞, and the value; null if every entry is finite. */
export function firstNonFinite(x: Tensor): { row: number; value: number } | null {
  const d = x.data;
  const per = x.shape[0] > 0 ? d.length / x.shape[0] : 1;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return { row: Math.floor(i / per), value: d[i] };
  return null;
}

export function requireFinite(who: string, name: string, x: Tensor): void {
  const bad = firstNonFinite(x);
  if (bad) throw new Error(`${who}: ${name} has ${bad.value} in sample ${bad.row} (row ${bad.row} along axis 0); expected finite numbers only`);
}
