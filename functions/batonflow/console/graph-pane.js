// The scrollable, zoomable pane the graph is shown in.

import { h } from "./dom.js";

const MIN_SCALE = 0.4;
const MAX_SCALE = 2;

/**
 * A scrollable pane for graphs with zoom buttons. The first graph shown is fitted to the pane (never
 * enlarged, never below 70 %, where labels stay readable); later ones (an execution refreshing) keep
 * the scale the user chose.
 */
export function graphPane() {
  const pane = h("div", { class: "graph-pane", id: "graph" });
  const label = h("span", { class: "zoom-level" });
  let svg = null;
  let scale = null;
  const natural = () => svg.viewBox.baseVal;
  const apply = (next) => {
    scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, next));
    svg.setAttribute("width", Math.round(natural().width * scale));
    svg.setAttribute("height", Math.round(natural().height * scale));
    label.textContent = `${Math.round(scale * 100)}%`;
  };
  const fit = () =>
    Math.min((pane.clientWidth - 8) / natural().width, (pane.clientHeight - 8) / natural().height);
  const button = (text, title, onclick) =>
    h("button", { type: "button", title, "aria-label": title, onclick }, text);
  const element = h(
    "div",
    { class: "graph-wrap" },
    pane,
    h(
      "div",
      { class: "zoom" },
      button("−", "Zoom out", () => svg && apply(scale / 1.25)),
      label,
      button("+", "Zoom in", () => svg && apply(scale * 1.25)),
      button("Fit", "Fit to the pane", () => svg && apply(fit())),
    ),
  );
  return {
    element,
    show(next) {
      svg = next;
      pane.replaceChildren(svg);
      apply(scale ?? Math.min(1, Math.max(0.7, fit())));
    },
  };
}
