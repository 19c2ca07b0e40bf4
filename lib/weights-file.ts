/**
 * Saving a model's weights to a JSON file and loading them back.
 *
 * Every weight is stored exactly: the bytes of its float64 values,
 * little-endian, in base64. (Decimal text would lose -0 and NaN; base64 of
 * the bytes round-trips every bit.) Beside the values the file records each
 * layer's name, class and weight shapes, so that loading into a model of
 * another architecture fails naming the first layer that differs.
 *
 *   { "format": "scratchnets-weights", "version": 1, "model": "sequential",
 *     "layers": [ { "name": "dense", "className": "Dense",
 *                   "weights": [ { "name": "kernel", "shape": [4, 8], "data": "<base64>" }, ... ] }, ... ] }
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Tensor, shapeStr } from "./matrix.ts";

const FORMAT = "scratchnets-weights";

/** What a model shows of itself to be saved or loaded: its layers' names, classes and weights. */
export interface WeightedLayer {
  name: string;
  className: string;
  weights: { name: string; value: Tensor }[];
}

interface FileWeight {
  name: string;
  shape: number[];
  data: string;
}

interface FileLayer {
  name: string;
  className: string;
  weights: FileWeight[];
}

/** float64 values → base64 of their little-endian bytes. */
export function encodeFloat64(values: Float64Array): string {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(8 * i, values[i], true);
  return Buffer.from(bytes).toString("base64");
}

/** base64 of little-endian float64 bytes → the values. */
export function decodeFloat64(text: string, count: number, what: string): Float64Array {
  const buf = Buffer.from(text, "base64");
  if (buf.length !== count * 8) throw new Error(`${what}: expected ${count} float64 values (${count * 8} bytes), the file holds ${buf.length} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}

/** The JSON text of a model's weights. */
export function weightsToJson(modelName: string, layers: readonly WeightedLayer[]): string {
  const file = {
    format: FORMAT,
    version: 1,
    model: modelName,
    layers: layers.map((l) => ({
      name: l.name,
      className: l.className,
      weights: l.weights.map((w) => ({ name: w.name, shape: w.value.shape, data: encodeFloat64(w.value.data) })),
    })),
  };
  return JSON.stringify(file);
}

const describe = (l: { className: string; weights: { name: string; shape: readonly number[] }[] }) =>
  `${l.className}${l.weights.length ? ` with ${l.weights.map((w) => `${w.name} ${shapeStr(w.shape)}`).join(", ")}` : " (no weights)"}`;

/**
 * Parses a weights file's text and checks it against the model's layers; returns
 * one tensor per weight, in the model's order. Throws naming the first layer that
 * differs (class, weight names or shapes) or the malformed part of the file.
 */
export function weightsFromJson(text: string, layers: readonly WeightedLayer[], source: string): Tensor[] {
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not JSON (${(e as Error).message}); expected a weights file written by saveWeights`);
  }
  const f = file as { format?: unknown; layers?: unknown };
  if (!f || typeof f !== "object" || f.format !== FORMAT || !Array.isArray(f.layers)) {
    throw new Error(`${source} is JSON but not a scratchnets weights file (no "format": "${FORMAT}" with a list of layers)`);
  }
  const fileLayers = f.layers as FileLayer[];
  const out: Tensor[] = [];
  const n = Math.max(fileLayers.length, layers.length);
  for (let i = 0; i < n; i++) {
    const want = layers[i], got = fileLayers[i];
    if (!want) throw new Error(`${source} holds another network: its layer ${i + 1} (${got?.name}, ${got?.className}) is beyond the model's ${layers.length} layers`);
    const wantDesc = { className: want.className, weights: want.weights.map((w) => ({ name: w.name, shape: w.value.shape })) };
    if (!got) throw new Error(`${source} holds another network: it has ${fileLayers.length} layers, the model's layer ${i + 1} (${want.name}, ${describe(wantDesc)}) is missing from it`);
    if (typeof got !== "object" || got === null || !Array.isArray(got.weights)) throw new Error(`${source}: layer ${i + 1} is malformed`);
    const same = got.className === want.className && got.weights.length === want.weights.length &&
      got.weights.every((w, k) => w.name === want.weights[k].name && Array.isArray(w.shape) &&
        w.shape.length === want.weights[k].value.rank && w.shape.every((d, j) => d === want.weights[k].value.shape[j]));
    if (!same) {
      throw new Error(`${source} holds another network: layer ${i + 1} (${want.name}) is ${describe(got)} in the file, but ${describe(wantDesc)} in the model`);
    }
    got.weights.forEach((w, k) => {
      const t = want.weights[k].value;
      out.push(new Tensor(t.shape, decodeFloat64(String(w.data), t.size, `${source}: ${want.name}/${w.name}`)));
    });
  }
  return out;
}

/** Writes the weights file; errors name the path. */
export function writeWeightsFile(path: string, modelName: string, layers: readonly WeightedLayer[]): void {
  const text = weightsToJson(modelName, layers);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  } catch (e) {
    throw new Error(`cannot write weights to ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Reads and checks a weights file against the model's layers; errors name the path. */
export function readWeightsFile(path: string, layers: readonly WeightedLayer[]): Tensor[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? `no such weights file '${path}'` : `cannot read weights file '${path}': ${code ?? (e as Error).message}`);
  }
  return weightsFromJson(text, layers, `'${path}'`);
}
