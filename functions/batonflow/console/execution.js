// One execution: header with its facts and actions, the graph coloured by status, and a side panel with
// the workflow's input/output or, once a node is clicked, that task's attempts, input, output and logs.

import { api } from "./api.js";
import { badge, elapsed, formatClock, formatDuration, formatTime, h, jsonBlock, toast } from "./dom.js";
import { definitionTasks, tasksByRef, workflowGraph } from "./graph.js";
import { graphPane } from "./graph-pane.js";

const REFRESH_MS = 2000;
const ACTIVE = new Set(["RUNNING", "PAUSED"]);
const RETRYABLE = new Set(["FAILED", "TIMED_OUT", "TERMINATED"]);

function fact(label, ...value) {
  return h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, ...value));
}

function section(title, ...content) {
  return h("section", { class: "panel-section" }, h("h3", {}, title), ...content);
}

function executionLink(id) {
  return h("a", { href: `#/executions/${encodeURIComponent(id)}`, class: "mono" }, id);
}

/** The workflow's own definition: embedded in the execution, else fetched by name and version. */
async function definitionOf(workflow) {
  if (workflow.workflowDefinition?.tasks) return workflow.workflowDefinition;
  return api.workflowDef(workflow.workflowName, workflow.workflowVersion);
}

function actions(workflow, reload) {
  const act = (label, verb, call, enabled, danger) =>
    h(
      "button",
      {
        type: "button",
        class: danger ? "danger" : "",
        disabled: !enabled,
        "data-action": verb,
        onclick: async () => {
          if (!window.confirm(`${label} workflow ${workflow.workflowId}?`)) return;
          try {
            await call(workflow.workflowId);
            toast(`${label}: done`);
          } catch (error) {
            toast(`${label} failed: ${error.message}`, "error");
          }
          reload();
        },
      },
      label,
    );
  const terminal = !ACTIVE.has(workflow.status);
  return h(
    "div",
    { class: "actions" },
    act("Retry", "retry", api.retry, RETRYABLE.has(workflow.status)),
    act("Restart", "restart", api.restart, terminal),
    act("Terminate", "terminate", api.terminate, !terminal, true),
  );
}

function header(workflow, reload) {
  const duration = elapsed(workflow.startTime || workflow.createTime, workflow.endTime);
  const name = encodeURIComponent(workflow.workflowName);
  const defLink = `#/definitions/${name}?version=${workflow.workflowVersion}`;
  return h(
    "header",
    { class: "exec-header" },
    h(
      "div",
      { class: "title-row" },
      h("a", { href: "#/executions", class: "back", title: "Executions" }, "←"),
      h("h1", {}, workflow.workflowName, h("span", { class: "version" }, ` v${workflow.workflowVersion}`)),
      h("span", { id: "workflow-status" }, badge(workflow.status)),
      h("span", { class: "spacer" }),
      actions(workflow, reload),
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Workflow ID", h("span", { class: "mono", id: "workflow-id" }, workflow.workflowId)),
      workflow.correlationId
        ? fact("Correlation ID", h("span", { class: "mono" }, workflow.correlationId))
        : "",
      fact("Started", formatTime(workflow.startTime || workflow.createTime)),
      fact("Ended", formatTime(workflow.endTime)),
      fact("Duration", formatDuration(duration)),
      workflow.parentWorkflowId ? fact("Parent", executionLink(workflow.parentWorkflowId)) : "",
      fact("Definition", h("a", { href: defLink }, `${workflow.workflowName} v${workflow.workflowVersion}`)),
    ),
    workflow.reasonForIncompletion
      ? h("p", { class: "reason", role: "note" }, workflow.reasonForIncompletion)
      : "",
  );
}

function workflowPanel(workflow) {
  return [
    h("div", { class: "panel-title" }, h("h2", {}, "Workflow")),
    h("p", { class: "hint" }, "Select a task in the graph to see its input, output, attempts and logs."),
    section("Input", jsonBlock(workflow.input, "workflow-input")),
    section("Output", jsonBlock(workflow.output, "workflow-output")),
    workflow.variables && Object.keys(workflow.variables).length
      ? section("Variables", jsonBlock(workflow.variables, "workflow-variables"))
      : "",
  ];
}

function attemptsTable(attempts, chosen, choose) {
  const loop = attempts.some((task) => task.iteration > 0);
  const headings = ["#", loop ? "Iter." : null, "Status", "Started", "Took", "Worker"].filter(Boolean);
  const rows = attempts.flatMap((task, index) => {
    const attrs = {
      class: index === chosen ? "chosen" : "",
      onclick: () => choose(index),
      title: "Show this attempt",
    };
    const took = task.endTime ? elapsed(task.startTime || task.scheduledTime, task.endTime) : undefined;
    const row = h(
      "tr",
      { ...attrs, "data-attempt": index + 1, "data-status": task.status, "data-task-id": task.taskId },
      h("td", { class: "num" }, index + 1),
      loop ? h("td", { class: "num" }, task.iteration || "") : null,
      h("td", {}, badge(task.status)),
      h("td", {}, formatClock(task.startTime || task.scheduledTime)),
      h("td", { class: "num" }, formatDuration(took)),
      h("td", { class: "mono" }, task.workerId || ""),
    );
    if (!task.reasonForIncompletion) return [row];
    row.classList.add("has-reason");
    const reason = h(
      "td",
      { class: "reason-cell", colspan: headings.length - 1 },
      task.reasonForIncompletion,
    );
    return [row, h("tr", { ...attrs, "data-reason-of": index + 1 }, h("td", {}), reason)];
  });
  return h(
    "table",
    { class: "attempts", id: "attempts" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headings.map((t) => h("th", {}, t)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

async function logsOf(task, box) {
  try {
    const logs = (await api.taskLogs(task.taskId)) || [];
    box.replaceChildren(
      ...(logs.length
        ? logs.map((entry) =>
            h("div", { class: "log" }, h("time", {}, formatTime(entry.createdTime)), h("pre", {}, entry.log)),
          )
        : [h("p", { class: "muted" }, "No logs for this attempt.")]),
    );
  } catch (error) {
    box.replaceChildren(h("p", { class: "error" }, `Logs: ${error.message}`));
  }
}

function taskPanel(ref, attempts, chosen, { choose, close }) {
  const task = attempts[chosen];
  const definition = task.workflowTask || {};
  const childId = task.subWorkflowId || task.outputData?.subWorkflowId;
  const loop = attempts.some((attempt) => attempt.iteration > 0);
  const logs = h("div", { class: "logs", "data-field": "logs" }, h("p", { class: "muted" }, "Loading logs…"));
  logsOf(task, logs);
  return [
    h(
      "div",
      { class: "panel-title" },
      h("h2", {}, ref),
      badge(task.status),
      h("span", { class: "spacer" }),
      h(
        "button",
        { type: "button", class: "icon", "aria-label": "Close", title: "Close", onclick: close },
        "×",
      ),
    ),
    h(
      "dl",
      { class: "facts compact" },
      fact("Type", task.taskType === definition.name ? definition.type || "SIMPLE" : task.taskType),
      definition.name && definition.name !== ref ? fact("Task", definition.name) : "",
      loop
        ? fact("Attempt", (task.retryCount || 0) + 1)
        : fact("Attempt", `${chosen + 1} of ${attempts.length}`),
      task.iteration ? fact("Iteration", task.iteration) : "",
      fact("Scheduled", formatTime(task.scheduledTime)),
      fact("Started", formatTime(task.startTime)),
      fact("Ended", formatTime(task.endTime)),
      fact(
        "Took",
        formatDuration(
          task.endTime ? elapsed(task.startTime || task.scheduledTime, task.endTime) : undefined,
        ),
      ),
      task.workerId ? fact("Worker", h("span", { class: "mono" }, task.workerId)) : "",
      fact("Task ID", h("span", { class: "mono" }, task.taskId)),
      childId ? fact("Sub-workflow", executionLink(childId)) : "",
    ),
    task.reasonForIncompletion
      ? h("p", { class: "reason", "data-field": "reason" }, task.reasonForIncompletion)
      : "",
    section(loop ? "Iterations and attempts" : "Attempts", attemptsTable(attempts, chosen, choose)),
    section("Output", jsonBlock(task.outputData, "output")),
    section("Input", jsonBlock(task.inputData, "input")),
    section("Logs", logs),
  ];
}

function notRunPanel(ref, task, close) {
  return [
    h(
      "div",
      { class: "panel-title" },
      h("h2", {}, ref),
      badge("NOT_STARTED"),
      h("span", { class: "spacer" }),
      h(
        "button",
        { type: "button", class: "icon", "aria-label": "Close", title: "Close", onclick: close },
        "×",
      ),
    ),
    h("p", { class: "hint" }, "This task has not run in this execution."),
    section("Definition", jsonBlock(task, "workflow-task")),
  ];
}

export async function executionPage(view, workflowId) {
  const state = { ref: null, attempt: null, workflow: null, definition: null, nodes: new Map() };
  const top = h("div", { class: "exec-top" });
  const graph = graphPane();
  const panel = h("aside", { class: "panel", id: "panel", "aria-live": "polite" });
  view.element.append(
    h("section", { class: "page execution" }, top, h("div", { class: "split" }, graph.element, panel)),
  );

  let shown = null; // what the panel shows, so that a refresh that changed nothing keeps it (and its scroll)
  const showPanel = () => {
    for (const [ref, node] of state.nodes) node.classList.toggle("selected", ref === state.ref);
    const attempts = state.ref ? tasksByRef(state.workflow.tasks).get(state.ref) : null;
    const key = JSON.stringify([
      state.ref,
      state.attempt,
      state.ref
        ? (attempts || []).map((task) => [task.taskId, task.status, task.updateTime])
        : state.workflow.updateTime,
    ]);
    if (key === shown) return;
    shown = key;
    panel.dataset.ref = state.ref || "";
    const close = () => {
      state.ref = null;
      showPanel();
    };
    if (attempts?.length) {
      const choose = (index) => {
        state.attempt = index;
        showPanel();
      };
      const chosen = state.attempt ?? attempts.length - 1;
      panel.replaceChildren(...taskPanel(state.ref, attempts, chosen, { choose, close }));
    } else if (state.ref) {
      panel.replaceChildren(
        ...notRunPanel(state.ref, definitionTasks(state.definition).get(state.ref) || {}, close),
      );
    } else {
      panel.replaceChildren(...workflowPanel(state.workflow));
    }
  };

  const select = (ref) => {
    state.ref = ref;
    state.attempt = null;
    showPanel();
  };

  const load = async () => {
    const workflow = await api.workflow(workflowId);
    state.definition ??= await definitionOf(workflow);
    if (!view.live) return;
    state.workflow = workflow;
    top.replaceChildren(header(workflow, () => load().catch((error) => toast(error.message, "error"))));
    const drawn = workflowGraph(state.definition, workflow.tasks || [], select);
    state.nodes = drawn.nodes;
    graph.show(drawn.svg);
    showPanel();
  };

  await load();
  view.every(REFRESH_MS, () => {
    if (ACTIVE.has(state.workflow?.status)) load().catch(() => {});
  });
}
