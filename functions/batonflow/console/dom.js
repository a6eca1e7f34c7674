// Small DOM and formatting helpers shared by the console's views. No framework: elements are built with h().

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: h("a", {href: "#/", class: "x"}, "text", otherElement). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, same call shape as h(). */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function formatTime(ms) {
  if (!ms) return "–";
  const date = new Date(typeof ms === "number" ? ms : Date.parse(ms));
  if (Number.isNaN(date.getTime())) return "–";
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** The time of day with milliseconds, for attempts that follow each other closely. */
export function formatClock(ms) {
  if (!ms) return "–";
  const date = new Date(ms);
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  const time = [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => pad(n)).join(":");
  return `${time}.${pad(date.getMilliseconds(), 3)}`;
}

export function formatDuration(ms) {
  if (ms === undefined || ms === null || ms < 0) return "–";
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Milliseconds between two times (epoch ms or ISO strings); until now when the end is missing. */
export function elapsed(start, end) {
  const from = typeof start === "number" ? start : Date.parse(start);
  if (!from) return undefined;
  const to = end ? (typeof end === "number" ? end : Date.parse(end)) : Date.now();
  return to - from;
}

/** A status pill; its colour comes from the stylesheet's [data-status] rules. */
export function badge(status) {
  return h(
    "span",
    { class: "badge", "data-status": status || "NOT_STARTED" },
    (status || "not started").replaceAll("_", " "),
  );
}

/** Pretty JSON with coloured keys, strings and numbers (text is escaped; only spans are added). */
export function jsonBlock(value, field) {
  const pre = h("pre", { class: "json", "data-field": field });
  if (value === undefined || value === null || (typeof value === "object" && !Object.keys(value).length)) {
    pre.classList.add("empty");
    pre.textContent = value === undefined || value === null ? "–" : JSON.stringify(value);
    return pre;
  }
  const text = JSON.stringify(value, null, 2);
  const token = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (const match of text.matchAll(token)) {
    pre.append(text.slice(last, match.index));
    const [whole, string, colon, literal, number] = match;
    if (string) {
      pre.append(h("span", { class: colon ? "j-key" : "j-str" }, string));
      if (colon) pre.append(colon);
    } else if (literal) pre.append(h("span", { class: "j-lit" }, literal));
    else if (number) pre.append(h("span", { class: "j-num" }, number));
    last = match.index + whole.length;
  }
  pre.append(text.slice(last));
  return pre;
}

/** The value of a search-summary field that Conductor sends as a JSON string. */
export function parseMaybeJson(value) {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export function truncate(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** A short message at the bottom of the screen; `kind` "error" colours it. */
export function toast(message, kind = "info") {
  const box = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  document.body.append(box);
  setTimeout(() => box.remove(), kind === "error" ? 8000 : 3500);
}
