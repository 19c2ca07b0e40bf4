import { test } from "uvu";
import * as assert from "uvu/assert";
import { lineChart, lineChartColumn, table, fmt } from "../chapters/_shared/plot.ts";

test("lineChart draws finite series and cuts a series at its first NaN, saying where", () => {
  const ok = lineChart([1, 2, 3, 2], { title: "t" });
  assert.match(ok, /^t\n/);
  assert.ok(ok.split("\n").length > 5);
  const cut = lineChart([[1, 2, NaN, 4], [3, 2, 1, 0]], { legend: ["diverged", "fine"] });
  assert.match(cut, /diverged: NaN at point 3 of 4; drawn up to there/);
  assert.match(lineChart([NaN, Infinity]), /nothing to draw/);
});

test("lineChartColumn is the character at which lineChart draws the first point at or after an index (chapter 06's train/test mark)", () => {
  for (const [n, width, index] of [[1000, 72, 800], [1000, 72, 1], [50, 72, 20], [300, 40, 150]]) {
    // a step: 0 before the index, 1 from it on; the top row's first glyph is the first point ≥ index
    const top = lineChart(Array.from({ length: n }, (_, i) => (i < index ? 0 : 1)), { height: 3, width, color: false }).split("\n")[0];
    const first = [...top].findIndex((ch, i) => i > 12 && ch !== " ");
    assert.is(lineChartColumn(n, width, index), first, `n = ${n}, width = ${width}, index = ${index}`);
  }
  // chapter 06: the 801st of 1000 points is in column 57 (it shows point 802); the old mark stood one column left
  assert.is(lineChartColumn(1000, 72, 800), 13 + 57);
});

test("table aligns columns and fmt keeps four significant digits", () => {
  const t = table(["a", "bb"], [[1, "x"], [22.123456, "yy"]]).split("\n");
  assert.is(t.length, 4);
  assert.is(new Set(t.map((l) => l.length)).size, 1);
  assert.is(fmt(22.123456), "22.12");
  assert.is(fmt(1.5e-7), "1.500e-7");
  assert.is(fmt(NaN), "NaN");
});


import { GLYPHS, wrap } from "../chapters/_shared/plot.ts";

test("wrap breaks at spaces, keeps every word, and indents the continuation", () => {
  const line = "  " + Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
  const w = wrap(line, 50);
  assert.ok(w.length > 1);
  assert.ok(w.every((l) => l.length <= 50), w.join("\n"));
  assert.ok(w.slice(1).every((l) => l.startsWith("      w")));
  assert.is(w.map((l) => l.trim()).join(" "), line.trim());
});

test("a flat or nearly flat series is drawn as one flat row (asciichart never finished on these)", () => {
  for (const s of [[2.3, 2.3, 2.3], [2.3, 2.3 + 1e-15, 2.3], [0, 1e-320, 0], [5]]) {
    const c = lineChart(s, { title: "flat", color: false });
    assert.match(c, /\(flat: every value is/);
    assert.ok(c.split("\n").length < 10, c);
  }
});

test("without colour, six series get six glyphs, each drawn and named in the legend", () => {
  const series = Array.from({ length: 6 }, (_, k) => Array.from({ length: 50 }, (_, t) => k * 10 + Math.sin(t / 5)));
  const names = series.map((_, k) => `ρ = ${k}`);
  const c = lineChart(series, { legend: names, color: false, height: 30 });
  assert.not.match(c, /\x1b\[/, "no escape codes");
  const lines = c.split("\n");
  const legend = lines.find((l) => l.includes("ρ = 0"))!;
  names.forEach((n, k) => assert.ok(legend.includes(`${GLYPHS[k]} ${n}`), `legend names '${GLYPHS[k]} ${n}': ${legend}`));
  const body = lines.filter((l) => l.includes("┤")).map((l) => l.split("┤")[1]).join("");
  for (let k = 0; k < 6; k++) assert.ok(body.includes(GLYPHS[k]), `glyph ${GLYPHS[k]} drawn`);
});

test("every point lies within half a row of its row's label", () => {
  const s = Array.from({ length: 40 }, (_, t) => Math.exp(t / 10) * Math.cos(t));
  const height = 12;
  const rows = lineChart(s, { color: false, height }).split("\n").filter((l) => l.includes("┤"));
  const labels = rows.map((l) => Number(l.split("┤")[0]));
  const step = (Math.max(...s) - Math.min(...s)) / (height - 1);
  s.forEach((v, t) => {
    const r = rows.findIndex((l) => l.split("┤")[1][t] === "*");
    assert.ok(r >= 0, `point ${t} drawn`);
    // labels carry 4 significant digits: allow that rounding on top of half a row
    assert.ok(Math.abs(labels[r] - v) <= step / 2 + Math.abs(labels[r]) * 1e-3 + 1e-9, `t = ${t}: value ${v}, row label ${labels[r]}, half a row ${step / 2}`);
  });
});

test("two series on the same cells are both visible: their glyphs alternate", () => {
  const a = [1, 1, 1, 1, 1, 1, 1, 2];
  const c = lineChart([a, [...a]], { legend: ["a", "b"], color: false });
  assert.match(c, /┤\*o|┤o\*/);
  assert.match(c, /their glyphs alternate/);
});

test("the values option puts the exact values in a table under the chart", () => {
  const c = lineChart([[1.23456, 2, 3], [3, 2, 1]], { legend: ["a", "b"], color: false, values: 3 });
  assert.match(c, /x\s+a\s+b/);
  assert.match(c, /1\s+1\.23456\s+3/);
});

test.run();
