import { test } from "uvu";
import * as assert from "uvu/assert";
import { lineChart, table, fmt } from "../chapters/_shared/plot.ts";

test("lineChart draws finite series and cuts a series at its first NaN, saying where", () => {
  const ok = lineChart([1, 2, 3, 2], { title: "t" });
  assert.match(ok, /^t\n/);
  assert.ok(ok.split("\n").length > 5);
  const cut = lineChart([[1, 2, NaN, 4], [3, 2, 1, 0]], { legend: ["diverged", "fine"] });
  assert.match(cut, /diverged: NaN at point 3 of 4; drawn up to there/);
  assert.match(lineChart([NaN, Infinity]), /nothing to draw/);
});

test("table aligns columns and fmt keeps four significant digits", () => {
  const t = table(["a", "bb"], [[1, "x"], [22.123456, "yy"]]).split("\n");
  assert.is(t.length, 4);
  assert.is(new Set(t.map((l) => l.length)).size, 1);
  assert.is(fmt(22.123456), "22.12");
  assert.is(fmt(1.5e-7), "1.500e-7");
  assert.is(fmt(NaN), "NaN");
});

test.run();
