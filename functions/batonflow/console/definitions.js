// Workflow definitions (list and one definition with its graph) and task definitions.

import { api } from "./api.js";
import { formatTime, h, jsonBlock } from "./dom.js";
import { definitionTasks, workflowGraph } from "./graph.js";
import { graphPane } from "./graph-pane.js";

function definitionLink(name, version) {
  return `#/definitions/${encodeURIComponent(name)}${version ? `?version=${version}` : ""}`;
}

function table(id, headings, rows, empty) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "list", id },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headings.map((t) => h("th", {}, t)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: headings.length }, empty)),
      ),
    ),
  );
}

function countTasks(tasks) {
  return Array.from(definitionTasks({ tasks }).keys()).length;
}

export async function definitionsPage(view) {
  const defs = (await api.workflowDefs()) || [];
  const byName = new Map();
  for (const def of defs) {
    const versions = byName.get(def.name) || [];
    versions.push(def);
    byName.set(def.name, versions);
  }
  const rows = [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, versions]) => {
      const latest = versions.reduce((a, b) => (b.version > a.version ? b : a));
      return h(
        "tr",
        { "data-name": name },
        h("td", {}, h("a", { href: definitionLink(name, latest.version), class: "strong" }, name)),
        h("td", { class: "num" }, latest.version),
        h("td", { class: "num" }, versions.length),
        h("td", { class: "num" }, countTasks(latest.tasks)),
        h("td", { class: "muted" }, latest.description || ""),
        h("td", {}, formatTime(latest.updateTime || latest.createTime)),
        h("td", {}, h("a", { href: `#/executions?name=${encodeURIComponent(name)}` }, "Executions")),
      );
    });
  view.element.append(
    h(
      "section",
      { class: "page" },
      h("div", { class: "toolbar" }, h("h1", {}, "Workflow definitions")),
      table(
        "definitions",
        ["Name", "Latest", "Versions", "Tasks", "Description", "Updated", ""],
        rows,
        "No workflow definitions yet.",
      ),
    ),
  );
}

function definitionPanel(definition, ref, taskDefs, close) {
  if (!ref) {
    return [
      h("div", { class: "panel-title" }, h("h2", {}, "Definition")),
      h("p", { class: "hint" }, "Select a task in the graph to see its definition."),
      h("section", { class: "panel-section" }, h("h3", {}, "JSON"), jsonBlock(definition, "definition")),
    ];
  }
  const task = definitionTasks(definition).get(ref);
  const taskDef = taskDefs.get(task.name);
  return [
    h(
      "div",
      { class: "panel-title" },
      h("h2", {}, ref),
      h("span", { class: "type-tag" }, task.type || "SIMPLE"),
      h("span", { class: "spacer" }),
      h("button", { type: "button", class: "icon", "aria-label": "Close", onclick: close }, "×"),
    ),
    h("section", { class: "panel-section" }, h("h3", {}, "Workflow task"), jsonBlock(task, "workflow-task")),
    taskDef
      ? h(
          "section",
          { class: "panel-section" },
          h("h3", {}, "Task definition"),
          jsonBlock(taskDef, "task-def"),
        )
      : "",
  ];
}

export async function definitionPage(view, name, version) {
  const [definition, versions, taskDefList] = await Promise.all([
    api.workflowDef(name, version),
    api.workflowDefs(),
    api.taskDefs().catch(() => []),
  ]);
  if (!view.live) return;
  const taskDefs = new Map((taskDefList || []).map((def) => [def.name, def]));
  const panel = h("aside", { class: "panel", id: "panel" });
  let selected = null;
  const show = () => {
    for (const [ref, node] of drawn.nodes) node.classList.toggle("selected", ref === selected);
    panel.replaceChildren(
      ...definitionPanel(definition, selected, taskDefs, () => {
        selected = null;
        show();
      }),
    );
  };
  const drawn = workflowGraph(definition, null, (ref) => {
    selected = ref;
    show();
  });
  const graph = graphPane();
  const picker = h(
    "select",
    {
      "aria-label": "Version",
      onchange: (event) => (location.hash = definitionLink(name, event.target.value)),
    },
    (versions || [])
      .filter((def) => def.name === name)
      .sort((a, b) => b.version - a.version)
      .map((def) => h("option", { value: def.version }, `version ${def.version}`)),
  );
  picker.value = String(definition.version);
  view.element.append(
    h(
      "section",
      { class: "page execution" },
      h(
        "header",
        { class: "exec-header" },
        h(
          "div",
          { class: "title-row" },
          h("a", { href: "#/definitions", class: "back", title: "Definitions" }, "←"),
          h("h1", {}, definition.name),
          picker,
          h("span", { class: "spacer" }),
          h("a", { href: `#/executions?name=${encodeURIComponent(name)}`, class: "button" }, "Executions"),
        ),
        h(
          "dl",
          { class: "facts" },
          definition.description
            ? h(
                "div",
                { class: "fact wide" },
                h("dt", {}, "Description"),
                h("dd", {}, definition.description),
              )
            : "",
          h("div", { class: "fact" }, h("dt", {}, "Tasks"), h("dd", {}, countTasks(definition.tasks))),
          h(
            "div",
            { class: "fact" },
            h("dt", {}, "Timeout"),
            h(
              "dd",
              {},
              definition.timeoutSeconds
                ? `${definition.timeoutSeconds} s (${definition.timeoutPolicy})`
                : "none",
            ),
          ),
          h(
            "div",
            { class: "fact" },
            h("dt", {}, "Restartable"),
            h("dd", {}, definition.restartable === false ? "no" : "yes"),
          ),
          definition.ownerEmail
            ? h("div", { class: "fact" }, h("dt", {}, "Owner"), h("dd", {}, definition.ownerEmail))
            : "",
          h(
            "div",
            { class: "fact" },
            h("dt", {}, "Updated"),
            h("dd", {}, formatTime(definition.updateTime || definition.createTime)),
          ),
        ),
      ),
      h("div", { class: "split" }, graph.element, panel),
    ),
  );
  graph.show(drawn.svg);
  show();
}

function retries(def) {
  if (!def.retryCount) return "none";
  return `${def.retryCount} × ${def.retryLogic || "FIXED"}, ${def.retryDelaySeconds ?? 0} s`;
}

function timeouts(def) {
  const parts = [];
  if (def.responseTimeoutSeconds) parts.push(`response ${def.responseTimeoutSeconds} s`);
  if (def.timeoutSeconds) parts.push(`total ${def.timeoutSeconds} s`);
  if (def.pollTimeoutSeconds) parts.push(`poll ${def.pollTimeoutSeconds} s`);
  return parts.join(", ") || "none";
}

export async function taskDefsPage(view) {
  const defs = ((await api.taskDefs()) || []).sort((a, b) => a.name.localeCompare(b.name));
  const panel = h("aside", { class: "panel", id: "panel" });
  const show = (def) => {
    panel.replaceChildren(
      h("div", { class: "panel-title" }, h("h2", {}, def ? def.name : "Task definition")),
      def
        ? jsonBlock(def, "task-def")
        : h("p", { class: "hint" }, "Select a task definition to see all its fields."),
    );
  };
  const rows = defs.map((def) =>
    h(
      "tr",
      { "data-name": def.name, class: "clickable", onclick: () => show(def) },
      h("td", { class: "strong" }, def.name),
      h("td", {}, retries(def)),
      h("td", {}, timeouts(def)),
      h(
        "td",
        {},
        def.rateLimitPerFrequency
          ? `${def.rateLimitPerFrequency} / ${def.rateLimitFrequencyInSeconds} s`
          : "–",
      ),
      h("td", { class: "num" }, def.concurrentExecLimit || "–"),
      h("td", { class: "muted" }, def.description || ""),
    ),
  );
  view.element.append(
    h(
      "section",
      { class: "page execution" },
      h("div", { class: "toolbar" }, h("h1", {}, "Task definitions")),
      h(
        "div",
        { class: "split" },
        h(
          "div",
          { class: "list-pane" },
          table(
            "taskdefs",
            ["Name", "Retries", "Timeouts", "Rate limit", "Concurrency", "Description"],
            rows,
            "No task definitions yet.",
          ),
        ),
        panel,
      ),
    ),
  );
  show(null);
}
