// The executions list: search by id / correlation id, filter by workflow and status, page, auto-refresh.

import { api } from "./api.js";
import { badge, elapsed, formatDuration, formatTime, h } from "./dom.js";

export const STATUSES = ["RUNNING", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED", "PAUSED"];
const PAGE_SIZE = 50;
const REFRESH_MS = 5000;
const AUTO_REFRESH_KEY = "baton.console.autoRefresh";

function quoted(value) {
  return `'${value.replaceAll("'", "")}'`;
}

/** Conductor's search query for the chosen workflow name and status. */
function searchQuery(params) {
  const clauses = [];
  if (params.get("name")) clauses.push(`workflowType = ${quoted(params.get("name"))}`);
  if (params.get("status")) clauses.push(`status = ${params.get("status")}`);
  return clauses.join(" AND ");
}

function hashFor(params) {
  const kept = new URLSearchParams([...params].filter(([, value]) => value));
  return `#/executions${kept.size ? `?${kept}` : ""}`;
}

function row(summary) {
  const link = `#/executions/${encodeURIComponent(summary.workflowId)}`;
  return h(
    "tr",
    { "data-workflow-id": summary.workflowId, "data-status": summary.status },
    h(
      "td",
      {},
      h("a", { href: link, class: "strong" }, summary.workflowType),
      h("span", { class: "muted" }, ` v${summary.version}`),
    ),
    h("td", {}, badge(summary.status)),
    h("td", {}, formatTime(summary.startTime)),
    h(
      "td",
      { class: "num" },
      formatDuration(summary.executionTime || elapsed(summary.startTime, summary.endTime)),
    ),
    h("td", {}, h("a", { href: link, class: "mono" }, summary.workflowId)),
    h("td", { class: "mono muted" }, summary.correlationId || ""),
  );
}

export async function executionsPage(view, params) {
  const start = Number(params.get("start") || 0);
  const names = h(
    "select",
    { name: "name", "aria-label": "Workflow" },
    h("option", { value: "" }, "All workflows"),
  );
  const status = h(
    "select",
    { name: "status", "aria-label": "Status" },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((name) => h("option", { value: name }, name.replace("_", " ").toLowerCase())),
  );
  if (params.get("name")) names.append(h("option", { value: params.get("name") }, params.get("name")));
  names.value = params.get("name") || "";
  status.value = params.get("status") || "";
  const text = h("input", {
    type: "search",
    name: "q",
    value: params.get("q") || "",
    placeholder: "Workflow id or correlation id",
    "aria-label": "Search",
  });
  const auto = h("input", { type: "checkbox", name: "auto" });
  auto.checked = localStorage.getItem(AUTO_REFRESH_KEY) === "on";
  const body = h("tbody", {});
  const summary = h("span", { class: "muted" });
  const pager = h("div", { class: "pager" });

  const apply = () => {
    const next = new URLSearchParams({ q: text.value.trim(), name: names.value, status: status.value });
    location.hash = hashFor(next);
  };
  names.addEventListener("change", apply);
  status.addEventListener("change", apply);
  auto.addEventListener("change", () => localStorage.setItem(AUTO_REFRESH_KEY, auto.checked ? "on" : "off"));

  view.element.append(
    h(
      "section",
      { class: "page" },
      h(
        "div",
        { class: "toolbar" },
        h("h1", {}, "Executions"),
        h(
          "form",
          {
            class: "filters",
            onsubmit: (event) => {
              event.preventDefault();
              apply();
            },
          },
          text,
          names,
          status,
          h("button", { type: "submit", class: "primary" }, "Search"),
          h("label", { class: "toggle" }, auto, "Auto-refresh"),
        ),
      ),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "list", id: "executions" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Workflow", "Status", "Started", "Duration", "Workflow ID", "Correlation ID"].map((t) =>
                h("th", {}, t),
              ),
            ),
          ),
          body,
        ),
      ),
      h("div", { class: "list-footer" }, summary, pager),
    ),
  );

  const load = async () => {
    const page = await api.search({
      query: searchQuery(params),
      freeText: params.get("q"),
      start,
      size: PAGE_SIZE,
    });
    if (!view.live) return;
    const results = page?.results || [];
    body.replaceChildren(
      ...(results.length
        ? results.map(row)
        : [h("tr", { class: "empty" }, h("td", { colspan: 6 }, "No executions match."))]),
    );
    const total = page?.totalHits || 0;
    summary.textContent = total ? `${start + 1}–${start + results.length} of ${total}` : "";
    const go = (offset) => {
      const next = new URLSearchParams(params);
      next.set("start", String(offset));
      return hashFor(next);
    };
    pager.replaceChildren(
      start > 0 ? h("a", { href: go(Math.max(0, start - PAGE_SIZE)), class: "button" }, "← Newer") : "",
      start + results.length < total
        ? h("a", { href: go(start + PAGE_SIZE), class: "button" }, "Older →")
        : "",
    );
  };

  view.every(REFRESH_MS, () => auto.checked && load().catch(() => {}));
  api
    .workflowDefs()
    .then((defs) => {
      const unique = [...new Set((defs || []).map((d) => d.name))].filter((n) => n !== params.get("name"));
      names.append(...unique.sort().map((name) => h("option", { value: name }, name)));
    })
    .catch(() => {});
  await load();
}
