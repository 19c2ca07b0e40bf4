/**
 * The built page (dist/web/scratchnets.html, from `npm run web:build`) in a real
 * headless Chromium, opened from file://. Run with `npm run test:web`; needs
 * Debian's chromium (or CHROMIUM_PATH). Each test saves a screenshot in
 * web/screenshots/ (git-ignored).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, statSync, readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { resolve, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PAGE = resolve(ROOT, "dist/web/scratchnets.html");
const SHOTS = resolve(ROOT, "web/screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);

let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: resolve(SHOTS, `web-${name}.png`), fullPage: true });
}

/** Milliseconds from a queued click to its handler, measured in the page (includes any time the main thread is blocked). */
async function clickLatency(selector: string): Promise<number> {
  return page.evaluate((sel) => new Promise<number>((res) => {
    const b = document.querySelector(sel) as HTMLElement;
    const t0 = performance.now();
    b.addEventListener("click", () => res(performance.now() - t0), { once: true });
    setTimeout(() => b.click(), 0);
  }), selector);
}

/**
 * CPU milliseconds so far of every thread of the Chromium processes this test started (Linux /proc; an empty map
 * elsewhere), keyed "pid/tid name". On a busy machine the wall clock mostly measures the other jobs; CPU time
 * shows what the page itself costs.
 */
function chromiumCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync("/proc/self/task")) return out;
  const children = (pid: number): number[] => {
    const kids: number[] = [];
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        kids.push(...readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(" ").filter(Boolean).map(Number));
      } catch { /* the thread ended */ }
    }
    return kids;
  };
  const todo = children(process.pid);
  while (todo.length) {
    const pid = todo.pop()!;
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const name = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
        const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
        out.set(`${pid}/${tid} ${name}`, ((Number(f[11]) + Number(f[12])) * 1000) / 100); // utime + stime in ticks of 10 ms
      }
      todo.push(...children(pid));
    } catch { /* the process ended */ }
  }
  return out;
}

test.before(async () => {
  if (!CHROMIUM) throw new Error("no Chromium found: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH");
  if (!existsSync(PAGE)) throw new Error(`${PAGE} is missing: run npm run web:build first`);
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(pathToFileURL(PAGE).href + "#gradients");
  await page.waitForFunction(() => window.scratchnets?.gradients !== undefined);
});

test.after(async () => {
  await browser?.close();
});

test("bundle: one file under 1 MB, digits included", () => {
  const { size } = statSync(PAGE);
  console.log(`   bundle: ${(size / 1024).toFixed(0)} KiB`);
  assert.ok(size < 1024 * 1024, `the page is ${size} bytes`);
});

test("gradients: linear ρ = 1.5, T = 100 equals chapter 05 --json for the same seed", async () => {
  const out = execFileSync(process.execPath, ["--import", "tsx", resolve(ROOT, "chapters/05-bptt.ts"), "--quick", "--json", "--seed", "2023"], { cwd: ROOT, encoding: "utf8" });
  const ch = JSON.parse(out) as { units: number; runs: { activation: string; rho: number; dLdh: number[]; jacobianNorms: number[]; fittedRate: number }[] };
  const ref = ch.runs.find((r) => r.activation === "linear" && r.rho === 1.5)!;
  await page.evaluate((u) => window.scratchnets.setGradients!({ activation: "linear", rho: 1.5, T: 100, units: u, seed: 2023, clip: false }), ch.units);
  await page.waitForFunction(() => window.scratchnets.gradients?.jacobianNorms !== null && window.scratchnets.gradients?.T === 100, undefined, { timeout: 60000 });
  const g = await page.evaluate(() => window.scratchnets.gradients!);
  const rel = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]) / Math.max(1e-300, Math.abs(b[i]))));
  assert.is(g.dLdh.length, 100);
  assert.ok(rel(g.dLdh, ref.dLdh) <= 1e-9, `‖∂L/∂h(t)‖ differs by ${rel(g.dLdh, ref.dLdh)}`);
  assert.ok(rel(g.jacobianNorms!, ref.jacobianNorms) <= 1e-9, `‖∂h(T)/∂h(k)‖ differs by ${rel(g.jacobianNorms!, ref.jacobianNorms)}`);
  assert.ok(Math.abs(g.fittedRate - ref.fittedRate) <= 1e-9 * ref.fittedRate);
  await shot("gradients");
});

test("gradients: moving the ρ slider changes the plot", async () => {
  const canvas = page.locator("#grad-chart-dldh canvas");
  const before = await canvas.screenshot();
  const rhoBefore = await page.evaluate(() => window.scratchnets.gradients!.rho);
  await page.focus("#grad-rho-slider");
  for (let i = 0; i < 20; i++) await page.keyboard.press("ArrowRight");
  await page.waitForFunction((r) => window.scratchnets.gradients!.rho !== r, rhoBefore);
  await page.waitForTimeout(100);
  const after = await canvas.screenshot();
  const g = await page.evaluate(() => window.scratchnets.gradients!);
  assert.ok(Math.abs(g.rho - (rhoBefore + 0.2)) < 1e-9, `ρ is ${g.rho} after 20 steps of 0.01 from ${rhoBefore}`);
  assert.not.ok(before.equals(after), "the chart's pixels did not change");
});

test("gradients: T = 300, 64 units recomputed (timed in the browser)", async () => {
  const times: number[] = [], jac: number[] = [], prod: number[] = [], all: number[] = [], wait: number[] = [];
  const CHANGES = 11;
  const cpu0 = chromiumCpuMs();
  for (let i = 0; i < CHANGES; i++) {
    // one change at a time: the main thread's curves at once, then wait for the workers' ‖∂h(T)/∂h(k)‖₂
    const d = await page.evaluate((rho) => window.scratchnets.setGradients!({ T: 300, units: 64, rho, activation: "tanh" }), 1.2 + 0.05 * i);
    assert.is(d.dLdh.length, 300);
    await page.waitForFunction((rho) => window.scratchnets.gradients!.rho === rho && window.scratchnets.gradients!.allCurvesMs !== null, 1.2 + 0.05 * i, { timeout: 120000 });
    const g = await page.evaluate(() => window.scratchnets.gradients!);
    // read now, not from setGradients's return value: drawMs is set once uPlot has drawn (a microtask after the return)
    times.push(g.computeMs + g.drawMs);
    assert.is(g.jacobianNorms!.length, 300);
    assert.ok(g.jacobianNorms!.every((v) => v > 0 && Number.isFinite(v)), "‖∂h(T)/∂h(k)‖₂ positive and finite for tanh");
    jac.push(g.jacobianMs!);
    prod.push(g.jacobianProductsMs!);
    all.push(g.allCurvesMs!);
    wait.push(g.jacobianWaitMs!);
  }
  const cpu1 = chromiumCpuMs();
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[(a.length - 1) >> 1];
  const range = (a: number[]) => `min ${Math.min(...a).toFixed(1)}, max ${Math.max(...a).toFixed(1)}`;
  console.log(`   gradient page, T = 300, u = 64, tanh, ${CHANGES} changes (medians; the target of about 100 ms is reported, not asserted):`);
  console.log(`   ALL THREE CURVES drawn after a change: median ${median(all).toFixed(1)} ms (${range(all)})`);
  console.log(`   main thread, recompute + redraw of ‖∂L/∂h(t)‖ and the step contributions: median ${median(times).toFixed(1)} ms (${range(times)})`);
  console.log(`   ‖∂h(T)/∂h(k)‖₂ in the two workers: median ${median(jac).toFixed(1)} ms (${range(jac)}), of which the products worker ${median(prod).toFixed(1)} ms`);
  console.log(`   from the change to the products worker starting: median ${median(wait).toFixed(1)} ms (${range(wait)})`);
  if (cpu1.size > 0) {
    // per change, all Chromium threads: the two workers, the main threads ("chromium"), and the rest (garbage collector, compositor, ...)
    let total = 0, main = 0;
    const workers: number[] = [];
    for (const [k, v] of cpu1) {
      const d = (v - (cpu0.get(k) ?? 0)) / CHANGES;
      total += d;
      if (k.endsWith(" DedicatedWorker")) workers.push(d);
      else if (k.endsWith(" chromium")) main += d;
    }
    workers.sort((a, b) => b - a);
    const w = workers.filter((d) => d > 0).map((d) => d.toFixed(0)).join(" + ");
    console.log(`   CPU per change (Linux /proc, 10 ms ticks, all Chromium threads): ${total.toFixed(0)} ms; workers ${w || "0"} ms, main threads ${main.toFixed(0)} ms, the rest ${(total - main - workers.reduce((a, b) => a + b, 0)).toFixed(0)} ms; load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);
  }
  assert.ok([...times, ...jac, ...prod, ...all].every(Number.isFinite));
  // a sanity bound only (a broken worker pipeline or a hang), far above the target
  assert.ok(median(all) < 5000, `all three curves took a median ${median(all)} ms`);
});

test("gradients: an out-of-range value is clamped with a visible note", async () => {
  await page.fill("#grad-rho", "7");
  await page.press("#grad-rho", "Enter");
  await page.waitForFunction(() => window.scratchnets.gradients!.rho === 2.5);
  const note = await page.textContent("#grad-rho-note");
  assert.match(note ?? "", /outside 0\.1–2\.5: clamped to 2\.5/);
  assert.is(await page.inputValue("#grad-rho"), "2.5");
  assert.ok(await page.isVisible("#grad-rho-note"));
  await page.evaluate(() => window.scratchnets.setGradients!({ T: 100, units: 32, rho: 1.5, activation: "linear" }));
});

interface CnnSnapshot { running: boolean; epochs: { loss: number; accuracy: number }[]; result: { testAccuracy: number; diverged: boolean; epochsRun: number } | null; confusion: number[] | null; probs: number[] | null; pad8x8: number[] | null }
const cnnState = () => page.evaluate(() => window.scratchnets.cnn as CnnSnapshot);

/** Types the fields, presses Train, and measures click latencies until training ends. */
async function trainCnn(fields: { eta?: string; epochs: string }): Promise<number[]> {
  for (const [id, v] of Object.entries(fields)) {
    await page.fill(`#cnn-${id}`, v);
    await page.press(`#cnn-${id}`, "Enter");
  }
  await page.click("#cnn-train");
  const latencies: number[] = [];
  while ((await cnnState()).running) {
    latencies.push(await clickLatency("#cnn-click"));
    await page.waitForTimeout(100);
  }
  return latencies;
}

test("cnn: 5 epochs in the worker reach ≥ 0.8 test accuracy while clicks are answered within 200 ms", async () => {
  await page.click("#nav-cnn");
  await page.waitForSelector("#cnn-train");
  const latencies = await trainCnn({ epochs: "5" });
  const s = await cnnState();
  assert.ok(s.result, "no result");
  console.log(`   cnn: test accuracy ${s.result!.testAccuracy.toFixed(4)} after ${s.result!.epochsRun} epochs; ${latencies.length} clicks during training answered in ≤ ${Math.max(...latencies).toFixed(1)} ms`);
  assert.ok(latencies.length >= 2, `only ${latencies.length} clicks measured during training`);
  assert.ok(Math.max(...latencies) < 200, `a click took ${Math.max(...latencies)} ms`);
  assert.is(s.result!.epochsRun, 5);
  assert.ok(s.result!.testAccuracy >= 0.8, `test accuracy ${s.result!.testAccuracy}`);
  assert.is(s.confusion!.reduce((a, b) => a + b, 0), 360);
  await page.waitForSelector("#cnn-maps canvas");
  assert.is(await page.locator("#cnn-filters canvas").count(), 10);
});

test("cnn: a digit drawn with the mouse gets probabilities summing to 1", async () => {
  await page.locator("#cnn-pad").scrollIntoViewIfNeeded();
  const box = (await page.locator("#cnn-pad").boundingBox())!;
  const p = (fx: number, fy: number): [number, number] => [box.x + fx * box.width, box.y + fy * box.height];
  // a "7": a bar across the top, then a stroke down to the lower left
  const path: [number, number][] = [[0.2, 0.2], [0.5, 0.2], [0.8, 0.2], [0.7, 0.4], [0.6, 0.6], [0.5, 0.8], [0.45, 0.9]];
  await page.mouse.move(...p(...path[0]));
  await page.mouse.down();
  for (const q of path.slice(1)) await page.mouse.move(...p(...q), { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => (window.scratchnets.cnn as CnnSnapshot).probs !== null);
  const s = await cnnState();
  assert.is(s.probs!.length, 10);
  const sum = s.probs!.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9, `Σp = ${sum}`);
  assert.ok(s.probs!.every((v) => v >= 0 && v <= 1));
  assert.ok(s.pad8x8!.some((v) => v > 0) && s.pad8x8!.every((v) => v >= 0 && v <= 16));
  await page.locator("#page-cnn").scrollIntoViewIfNeeded();
  await shot("cnn");
});

test("cnn: η = 10 diverges: 'diverged' on the curve, no NaN plotted, the page responsive", async () => {
  const latencies = await trainCnn({ eta: "10", epochs: "3" });
  const s = await cnnState();
  assert.ok(s.result!.diverged, "the run did not diverge");
  assert.match((await page.textContent("#cnn-chart-loss .u-title")) ?? "", /diverged/);
  assert.match((await page.textContent("#cnn-status")) ?? "", /diverged/);
  if (latencies.length) assert.ok(Math.max(...latencies) < 200, `a click took ${Math.max(...latencies)} ms`);
  // what the chart holds: finite numbers or gaps, never NaN
  const plotted = await page.evaluate(() => (window.scratchnets.cnn as CnnSnapshot).epochs.map((e) => (Number.isFinite(e.loss) ? e.loss : null)));
  assert.ok(plotted.every((v) => v === null || Number.isFinite(v)));
  await shot("cnn-diverged");
  await page.fill("#cnn-eta", "0.01");
  await page.press("#cnn-eta", "Enter");
});

test("cnn: Stop ends a run and the curves stop growing", async () => {
  await page.fill("#cnn-epochs", "100");
  await page.press("#cnn-epochs", "Enter");
  await page.click("#cnn-train");
  await page.waitForFunction(() => (window.scratchnets.cnn as CnnSnapshot).epochs.length >= 1, undefined, { timeout: 60000 });
  await page.click("#cnn-stop");
  const n = (await cnnState()).epochs.length;
  await page.waitForTimeout(1500);
  const s = await cnnState();
  assert.is(s.running, false);
  assert.is(s.epochs.length, n, "epochs kept arriving after Stop");
  assert.ok(n < 100);
  assert.match((await page.textContent("#cnn-status")) ?? "", /stopped after \d+ epoch/);
});

test("extrapolation: the rnn network trains in a worker and predicts the 20 points", async () => {
  await page.click("#nav-extrapolation");
  await page.waitForSelector("#ex-train");
  await page.selectOption("#ex-model", "rnn");
  await page.click("#ex-train");
  await page.waitForFunction(() => (window.scratchnets.extrapolation as { running: boolean }).running === false, undefined, { timeout: 300000, polling: 250 });
  const s = await page.evaluate(() => window.scratchnets.extrapolation as { predictions: number[] | null; mse: number | null; loss: number[] });
  assert.is(s.predictions?.length, 20);
  assert.is(s.loss.length, 150);
  assert.ok(Number.isFinite(s.mse!), `MSE ${s.mse}`);
  console.log(`   extrapolation rnn, seed 2023: MSE ${s.mse!.toExponential(2)}`);
  assert.match((await page.textContent("#ex-mse")) ?? "", /MSE over the 20 points/);
  await shot("extrapolation");
});

test("no console errors", () => {
  assert.equal(consoleErrors, []);
});

test.run();
