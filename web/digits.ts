/** scikit-learn's 8×8 digits, inlined by web/build.ts as base64 bytes: 64 pixels (0..16) and the label per digit. */
function decode(b64: string): { n: number; pixels: Uint8Array; labels: Int32Array } {
  const raw = atob(b64);
  const n = raw.length / 65;
  if (!Number.isInteger(n)) throw new Error(`the inlined digits hold ${raw.length} bytes, not a multiple of 65`);
  const pixels = new Uint8Array(n * 64), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 64; k++) pixels[i * 64 + k] = raw.charCodeAt(i * 65 + k);
    labels[i] = raw.charCodeAt(i * 65 + 64);
  }
  return { n, pixels, labels };
}

export const digits = decode(__DIGITS_B64__);
