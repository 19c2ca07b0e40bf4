/** The CCD solver of the pairing model against the lecture's table and the exact two-particle result. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { pairingCcd, pairingCcdSeries } from "../chapters/_shared/pairing-ccd.ts";
import { CCD_ENERGIES, PARTICLES } from "../chapters/_shared/extrapolation-data.ts";
import { assertThrowsMatching } from "./_helpers.ts";

test("the solved energies reproduce all 20 values of the lecture's table to 1e-7", () => {
  const solved = pairingCcdSeries(20);
  assert.is(solved.length, PARTICLES.length);
  solved.forEach((e, k) => assert.ok(Math.abs(e - CCD_ENERGIES[k]) < 1e-7, `X = ${PARTICLES[k]}: solved ${e}, table ${CCD_ENERGIES[k]}`));
});

test("X = 2: CCD is exact, E_c = δ − √(δ² + g²/4), for several g", () => {
  for (const g of [0.5, -0.3, 1.2]) {
    const r = pairingCcd(2, { g, tolerance: 1e-15 });
    assert.ok(Math.abs(r.energy - (1 - Math.sqrt(1 + (g * g) / 4))) < 1e-13, `g = ${g}: ${r.energy}`);
  }
});

test("fully converged, the residual vanishes and the energy moves by less than the table's precision", () => {
  const loose = pairingCcd(40), tight = pairingCcd(40, { tolerance: 1e-14 });
  assert.ok(tight.residual < 1e-12, `residual ${tight.residual}`);
  assert.ok(Math.abs(tight.energy - loose.energy) < 3e-7, `${tight.energy} vs ${loose.energy}`);
  // g = 0: no correlation
  assert.is(pairingCcd(10, { g: 0 }).energy, 0);
});

test("bad arguments are refused", () => {
  assertThrowsMatching(() => pairingCcd(3), /even whole number ≥ 2, got 3/, "odd");
  assertThrowsMatching(() => pairingCcd(4, { g: NaN }), /coupling g must be a finite number/, "g");
});

test.run();
