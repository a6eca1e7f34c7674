// The console's entry point: hash routes to views, and what every view shares (its root element, timers
// that stop when the route changes, error display).
//
//   #/executions[?name=&status=&q=&start=]   executions list (the default)
//   #/executions/<workflowId>                execution page
//   #/definitions                            workflow definitions
//   #/definitions/<name>[?version=N]         definition page
//   #/taskdefs                               task definitions

import { AUTH_EVENT, signedIn, signOut } from "./api.js";
import { definitionPage, definitionsPage, taskDefsPage } from "./definitions.js";
import { h } from "./dom.js";
import { executionPage } from "./execution.js";
import { executionsPage } from "./executions.js";

const root = document.getElementById("view");
let current = null;

/** What a view gets: its root element, a liveness check, repeating timers and an error display. */
class ViewContext {
  constructor(element) {
    this.element = element;
    this.timers = [];
    this.live = true;
  }

  every(ms, callback) {
    this.timers.push(setInterval(() => this.live && callback(), ms));
  }

  stop() {
    this.live = false;
    this.timers.forEach(clearInterval);
  }

  fail(error) {
    if (!this.live) return;
    this.element.replaceChildren(
      h(
        "div",
        { class: "page" },
        h(
          "div",
          { class: "failure", role: "alert" },
          h("strong", {}, "Could not load this page. "),
          error.message || String(error),
        ),
      ),
    );
  }
}

function parseHash() {
  const [path, query] = (location.hash.replace(/^#/, "") || "/executions").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(query || "") };
}

function route() {
  current?.stop();
  const { parts, params } = parseHash();
  const section = parts[0] || "executions";
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === section);
  }
  const element = h("div", { class: "view", "data-view": section });
  root.replaceChildren(element);
  current = new ViewContext(element);
  const view = {
    executions: () => (parts[1] ? executionPage(current, parts[1]) : executionsPage(current, params)),
    definitions: () =>
      parts[1] ? definitionPage(current, parts[1], params.get("version")) : definitionsPage(current),
    taskdefs: () => taskDefsPage(current),
  }[section];
  const shown = view ? view() : Promise.reject(new Error(`No page at #${location.hash.slice(1)}`));
  const context = current;
  Promise.resolve(shown).catch((error) => context.fail(error));
}

const signOutButton = document.getElementById("sign-out");
const showSignOut = () => (signOutButton.hidden = !signedIn());
signOutButton.addEventListener("click", () => {
  signOut();
  route();
});
window.addEventListener(AUTH_EVENT, showSignOut);
window.addEventListener("hashchange", route);
showSignOut();
route();
