/** fit's stop message on a non-finite loss names η, λ and ‖w‖ and the knob, computed from the model it stopped. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Tensor } from "../lib/matrix.ts";
import { Sequential } from "../lib/model.ts";
import { Dense } from "../lib/layers.ts";
import { SGD } from "../lib/optimizers.ts";
import { l2 } from "../lib/regularizers.ts";

function stopMessage(eta: number, lambda: number): string | null {
  const m = new Sequential({ seed: 3 });
  m.add(new Dense(8, { inputShape: [4], activation: "linear", kernelRegularizer: l2(lambda) }));
  m.add(new Dense(1, { activation: "linear", kernelRegularizer: l2(lambda) }));
  m.compile({ loss: "mse", optimizer: new SGD({ learningRate: eta }) });
  const x = new Tensor([16, 4], Float64Array.from({ length: 64 }, (_, i) => Math.sin(i) * 3));
  const y = new Tensor([16, 1], Float64Array.from({ length: 16 }, (_, i) => Math.cos(i)));
  const h = m.fit(x, y, { epochs: 200, batchSize: 4, log: () => {} });
  return h.stopped?.message ?? null;
}

test("a huge η: the message blames η and gives the figures", () => {
  const msg = stopMessage(50, 1e-4);
  assert.ok(msg, "training stopped");
  assert.match(msg!, /the loss became (NaN|Infinity) at epoch \d+, step \d+ of 4; training stopped \(η = 50, λ = 0\.0001, ‖w‖ = .*try a smaller η\)/);
});

test("a huge λ with a modest η: the message blames λ", () => {
  const msg = stopMessage(0.05, 100);
  assert.ok(msg, "training stopped");
  assert.match(msg!, /η = 0\.05, λ = 100, .*ηλ = 5 ≥ 1.*try a smaller λ/);
});

test("a sane run does not stop", () => {
  assert.is(stopMessage(0.01, 1e-4), null);
});

test.run();
