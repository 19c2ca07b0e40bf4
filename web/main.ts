/**
 * scratchnets in the browser: three pages, each one lecture experiment,
 * computed with the chapters' own code (lib/ and chapters/_shared).
 */
import { el } from "./ui.ts";
import { gradientsPage } from "./gradients.ts";
import { cnnPage } from "./cnn.ts";
import { extrapolationPage } from "./extrapolation.ts";

interface PageDef {
  id: string;
  nav: string;
  title: string;
  section: string;
  equation: string;
  chapter: string;
  build: (root: HTMLElement) => void;
}

const PAGES: PageDef[] = [
  {
    id: "gradients", nav: "Vanishing and exploding gradients",
    title: "Vanishing and exploding gradients",
    section: 'Lecture sections "Backpropagation through time" and "The problem of exploding or vanishing gradients" (chapter 05)',
    equation: "∂L/∂h(k) = ∂L/∂h(T) · ∏_{i=k+1..T} diag(σ_h'(z_h(i))) W_hh,   so for linear σ_h   ‖∂L/∂h(T−k)‖ ∝ ρ(W_hh)^k",
    chapter: "npx tsx chapters/05-bptt.ts",
    build: gradientsPage,
  },
  {
    id: "cnn", nav: "The digits CNN",
    title: "The lecture's convolutional network on the 8×8 digits",
    section: 'Lecture sections "Importing Keras and TensorFlow" and "Running with Keras" (chapters 03 and 04)',
    equation: "Conv2D(10, 3×3, relu, l2(λ)) → MaxPool(2×2) → Flatten → Dense(50, relu) → Dense(10, softmax);   w ← w − η ∂(L + λΣw²)/∂w",
    chapter: "npx tsx chapters/03-cnn-digits.ts",
    build: cnnPage,
  },
  {
    id: "extrapolation", nav: "Extrapolation",
    title: "Extrapolating many-body energies with recurrent networks",
    section: 'Lecture sections "An extrapolation example" and "Predicting New Points" (chapter 10)',
    equation: "ŷ(x + 2) = f(y(x − 2), y(x)),   trained on x ≤ 24, then fed its own predictions for x = 26 … 40",
    chapter: "npx tsx chapters/10-extrapolation.ts",
    build: extrapolationPage,
  },
];

function start(): void {
  window.scratchnets = {};
  const nav = el("nav", { class: "tabs" }, ...PAGES.map((p) => el("a", { href: "#" + p.id, id: "nav-" + p.id }, p.nav)));
  const main = el("main");
  document.body.append(
    el("header", {}, el("h1", {}, "scratchnets in the browser"), el("p", { class: "sub" }, "CNNs and RNNs from scratch in TypeScript: the same code as the terminal chapters, with sliders in place of flags."), nav),
    main,
  );
  const built = new Map<string, HTMLElement>();
  const show = () => {
    const id = PAGES.some((p) => "#" + p.id === location.hash) ? location.hash.slice(1) : PAGES[0].id;
    for (const p of PAGES) {
      document.getElementById("nav-" + p.id)!.classList.toggle("active", p.id === id);
      let sec = built.get(p.id);
      if (p.id === id && !sec) {
        sec = el("article", { id: "page-" + p.id },
          el("h2", {}, p.title),
          el("p", { class: "section" }, p.section),
          el("pre", { class: "equation" }, p.equation),
          el("p", { class: "sub" }, "In the terminal: ", el("code", {}, p.chapter)),
        );
        main.append(sec);
        built.set(p.id, sec);
        p.build(sec);
      }
      if (sec) sec.hidden = p.id !== id;
    }
  };
  window.addEventListener("hashchange", show);
  show();
}

start();
