/**
 * A finite-state automaton read off a recurrent network.
 *
 * The network's hidden states are first grouped into discrete states (e.g. by
 * k-means, kmeans.ts). Every time step then is one observed transition
 *   (state of h(t−1), input symbol x(t)) → (state of h(t), output symbol y(t)),
 * and the automaton keeps, for each (state, input), the most frequent next state
 * and output. `consistency` says how often the network agreed with that table.
 * Equivalent states (the same outputs now and after every input sequence) are then
 * merged by partition refinement (Moore's algorithm), which gives the smallest
 * automaton that produces the same outputs.
 */

export interface Transition {
  state: number;
  input: number;
  next: number;
  output: number;
  /** How many observed steps went through this (state, input). */
  count: number;
}

export interface Automaton {
  /** Number of states (after minimisation: the merged states, numbered 0..states−1). */
  states: number;
  /** The state the sequences start in. */
  start: number;
  /** One row per (state, input) seen, sorted by state then input. */
  table: Transition[];
  /** The fraction of observed steps whose next state and output agree with the table. */
  consistency: number;
}

export interface ObservedRuns {
  /** Per sequence, the discrete state of h(0), h(1), …, h(T): length T + 1. */
  states: ArrayLike<number>[];
  /** Per sequence, the input symbol at t = 1..T. */
  inputs: ArrayLike<number>[];
  /** Per sequence, the output symbol at t = 1..T. */
  outputs: ArrayLike<number>[];
}

/** The majority transition table of the observed runs. All sequences must start in the same state. */
export function extractAutomaton(runs: ObservedRuns): Automaton {
  const { states, inputs, outputs } = runs;
  if (states.length === 0) throw new Error("extractAutomaton: no sequences");
  if (inputs.length !== states.length || outputs.length !== states.length) throw new Error(`extractAutomaton: ${states.length} state sequences, ${inputs.length} input and ${outputs.length} output sequences`);
  const start = states[0][0];
  // counts.get("s,a") → Map("next,out" → count)
  const counts = new Map<string, Map<string, number>>();
  let total = 0;
  states.forEach((s, n) => {
    const T = inputs[n].length;
    if (s.length !== T + 1 || outputs[n].length !== T) throw new Error(`extractAutomaton: sequence ${n} has ${s.length} states, ${T} inputs and ${outputs[n].length} outputs; expected T + 1, T, T`);
    if (s[0] !== start) throw new Error(`extractAutomaton: sequence ${n} starts in state ${s[0]}, sequence 0 in ${start}`);
    for (let t = 0; t < T; t++) {
      const key = `${s[t]},${inputs[n][t]}`;
      let m = counts.get(key);
      if (!m) counts.set(key, (m = new Map()));
      const v = `${s[t + 1]},${outputs[n][t]}`;
      m.set(v, (m.get(v) ?? 0) + 1);
      total++;
    }
  });
  const table: Transition[] = [];
  let agree = 0;
  for (const [key, m] of counts) {
    const [state, input] = key.split(",").map(Number);
    let best = "", bestCount = -1, count = 0;
    for (const [v, c] of m) {
      count += c;
      if (c > bestCount) [best, bestCount] = [v, c];
    }
    const [next, output] = best.split(",").map(Number);
    table.push({ state, input, next, output, count });
    agree += bestCount;
  }
  table.sort((a, b) => a.state - b.state || a.input - b.input);
  const ids = new Set<number>([start, ...table.map((r) => r.state), ...table.map((r) => r.next)]);
  return { states: ids.size, start, table, consistency: agree / total };
}

/**
 * The smallest automaton with the same outputs (Moore's partition refinement over the
 * states reachable from the start), renumbered 0.. in order of first appearance from the
 * start. A (state, input) pair never observed counts as its own "unknown" behaviour.
 *
 * outputsOn "transitions" (a Mealy machine, the default): two states are alike when every
 * input gives the same output and alike next states. "states" (a Moore machine): each state
 * carries the output emitted on entering it, and alike states must carry the same output;
 * this keeps apart states that a Mealy machine would merge, e.g. "no carry, wrote 0" and
 * "no carry, wrote 1" in binary addition.
 */
export function minimizeAutomaton(a: Automaton, outputsOn: "transitions" | "states" = "transitions"): Automaton & { merged: Map<number, number> } {
  const inputsSeen = [...new Set(a.table.map((r) => r.input))].sort((x, y) => x - y);
  const row = new Map<string, Transition>(a.table.map((r) => [`${r.state},${r.input}`, r]));
  // the states reachable from the start
  const reach: number[] = [a.start];
  for (let i = 0; i < reach.length; i++) {
    for (const x of inputsSeen) {
      const r = row.get(`${reach[i]},${x}`);
      if (r && !reach.includes(r.next)) reach.push(r.next);
    }
  }
  // block of each state; start with the blocks of equal outputs over all inputs
  const entering = (s: number): string => {
    const outs = new Set(a.table.filter((r) => r.next === s).map((r) => r.output));
    return outs.size ? [...outs].sort((x, y) => x - y).join(",") : "-";
  };
  let block = new Map<number, string>(
    reach.map((s) => [s, outputsOn === "states" ? entering(s) : inputsSeen.map((x) => row.get(`${s},${x}`)?.output ?? "?").join(" ")]),
  );
  for (;;) {
    const next = new Map<number, string>(reach.map((s) => [s, `${block.get(s)}|${inputsSeen.map((x) => { const r = row.get(`${s},${x}`); return r ? block.get(r.next) : "?"; }).join(";")}`]));
    if (new Set(next.values()).size === new Set(block.values()).size) break;
    block = next;
  }
  // number the blocks in order of first appearance in `reach` (breadth-first from the start)
  const number = new Map<string, number>();
  const merged = new Map<number, number>();
  for (const s of reach) {
    const b = block.get(s) as string;
    if (!number.has(b)) number.set(b, number.size);
    merged.set(s, number.get(b) as number);
  }
  const table: Transition[] = [];
  for (const r of a.table) {
    if (!merged.has(r.state)) continue;
    const key = `${merged.get(r.state)},${r.input}`;
    const existing = table.find((t) => `${t.state},${t.input}` === key);
    if (existing) {
      existing.count += r.count;
      continue;
    }
    table.push({ state: merged.get(r.state) as number, input: r.input, next: merged.get(r.next) as number, output: r.output, count: r.count });
  }
  table.sort((x, y) => x.state - y.state || x.input - y.input);
  return { states: number.size, start: 0, table, consistency: a.consistency, merged };
}

/** Runs an automaton on a sequence of input symbols; returns the output symbols (−1 where the table has no row). */
export function runAutomaton(a: Automaton, inputs: ArrayLike<number>): number[] {
  const row = new Map<string, Transition>(a.table.map((r) => [`${r.state},${r.input}`, r]));
  const out: number[] = [];
  let s = a.start;
  for (let t = 0; t < inputs.length; t++) {
    const r = row.get(`${s},${inputs[t]}`);
    if (!r) {
      out.push(-1);
      s = -1;
      continue;
    }
    out.push(r.output);
    s = r.next;
  }
  return out;
}
