// The workflow graph as SVG: a definition, optionally overlaid with an execution's tasks.
//
// Conductor workflows are series-parallel, so a recursive block layout is enough: every block knows its
// width and height and places itself at (x, y), returning where edges enter it and leave it. A sequence
// stacks its blocks vertically, centred; a fork or switch puts its node on top and its branches side by
// side below it (every branch end becomes an exit, so the next node fans them in); a DO_WHILE is a framed
// sequence of its node and body with a loop-back edge. Node elements carry data-ref and data-status.

import { s, truncate } from "./dom.js";

const NODE_W = 184;
const NODE_H = 44;
const GAP_Y = 30;
const GAP_X = 22;
const LABEL_GAP = 16;
const FRAME_PAD = 16;
const FRAME_TOP = 22;
const MARGIN = 16;
const TERMINAL = 18;

const SPLITS = new Set(["FORK_JOIN", "FORK_JOIN_DYNAMIC", "SWITCH", "DECISION"]);

function point(x, y, ran) {
  return { x, y, ran };
}

/** Every executed task by the ref of its definition (a loop iteration's `__N` removed), oldest first. */
export function tasksByRef(tasks) {
  const byRef = new Map();
  for (const task of tasks || []) {
    const ref = task.referenceTaskName;
    const suffix = `__${task.iteration}`;
    const base = task.iteration > 0 && ref.endsWith(suffix) ? ref.slice(0, -suffix.length) : ref;
    if (!byRef.has(base)) byRef.set(base, []);
    byRef.get(base).push(task);
  }
  for (const attempts of byRef.values()) attempts.sort((a, b) => (a.seq || 0) - (b.seq || 0));
  return byRef;
}

function nodeBlock(item) {
  return {
    w: NODE_W,
    h: NODE_H,
    place(x, y, out) {
      out.nodes.push({ ...item, x, y });
      const ran = item.status !== undefined;
      return { entry: point(x + NODE_W / 2, y, ran), exits: [point(x + NODE_W / 2, y + NODE_H, ran)] };
    },
  };
}

function terminalBlock(kind, ran) {
  return {
    w: TERMINAL,
    h: TERMINAL,
    place(x, y, out) {
      out.terminals.push({ kind, ran, x: x + TERMINAL / 2, y: y + TERMINAL / 2 });
      return { entry: point(x + TERMINAL / 2, y, ran), exits: [point(x + TERMINAL / 2, y + TERMINAL, ran)] };
    },
  };
}

/** An empty branch (a switch's default with no tasks): a short straight line. */
function passBlock(taken) {
  return {
    w: 24,
    h: NODE_H,
    place(x, y, out) {
      const from = point(x + 12, y, taken);
      const to = point(x + 12, y + NODE_H, taken);
      out.edges.push({ from, to, plain: true, taken });
      return { entry: from, exits: [to] };
    },
  };
}

function sequenceBlock(blocks, taken) {
  if (!blocks.length) return passBlock(taken);
  const w = Math.max(...blocks.map((b) => b.w));
  const h = blocks.reduce((sum, b) => sum + b.h, 0) + GAP_Y * (blocks.length - 1);
  return {
    w,
    h,
    place(x, y, out) {
      let top = y;
      let first = null;
      let exits = null;
      for (const block of blocks) {
        const placed = block.place(x + (w - block.w) / 2, top, out);
        if (exits) for (const from of exits) out.edges.push({ from, to: placed.entry });
        first ??= placed;
        exits = placed.exits;
        top += block.h + GAP_Y;
      }
      return { entry: first.entry, exits };
    },
  };
}

function splitBlock(head, branches) {
  const gap = GAP_Y + (branches.some((b) => b.label) ? LABEL_GAP : 0);
  const branchesW = branches.reduce((sum, b) => sum + b.block.w, 0) + GAP_X * (branches.length - 1);
  const w = Math.max(NODE_W, branchesW);
  const h = NODE_H + gap + Math.max(...branches.map((b) => b.block.h));
  return {
    w,
    h,
    place(x, y, out) {
      const top = head.place(x + (w - NODE_W) / 2, y, out);
      let left = x + (w - branchesW) / 2;
      const exits = [];
      for (const branch of branches) {
        const placed = branch.block.place(left, y + NODE_H + gap, out);
        for (const from of top.exits) {
          out.edges.push({ from, to: placed.entry, label: branch.label, taken: branch.taken });
        }
        exits.push(...placed.exits);
        left += branch.block.w + GAP_X;
      }
      return { entry: top.entry, exits };
    },
  };
}

function loopBlock(head, body, label) {
  const inner = sequenceBlock([head, body]);
  const w = inner.w + 2 * FRAME_PAD;
  const h = FRAME_TOP + inner.h + FRAME_PAD + 12;
  return {
    w,
    h,
    place(x, y, out) {
      out.frames.push({ x, y, w, h, label });
      const placed = inner.place(x + FRAME_PAD, y + FRAME_TOP, out);
      const bottom = y + FRAME_TOP + inner.h + 12;
      const right = x + w - FRAME_PAD / 2;
      const headMid = y + FRAME_TOP + NODE_H / 2;
      for (const from of placed.exits) {
        out.loops.push({ from, bottom, right, headMid, headRight: x + w / 2 + NODE_W / 2, ran: from.ran });
      }
      return { entry: placed.entry, exits: [point(x + w / 2, y + h, placed.entry.ran)] };
    },
  };
}

/** Builds the blocks of a task list; `run` is the execution's tasks by ref, or null for a bare definition. */
function blocksOf(tasks, run, taken) {
  return sequenceBlock(
    (tasks || []).map((task) => blockOf(task, run)),
    taken,
  );
}

function itemOf(task, run) {
  const attempts = run ? run.get(task.taskReferenceName) || [] : [];
  const latest = attempts[attempts.length - 1];
  return {
    ref: task.taskReferenceName,
    task,
    attempts,
    latest,
    status: latest?.status,
    executed: run !== null,
  };
}

function blockOf(task, run) {
  const item = itemOf(task, run);
  const head = nodeBlock(item);
  if (task.type === "DO_WHILE") {
    const iterations = item.latest?.iteration;
    return loopBlock(head, blocksOf(task.loopOver, run), iterations ? `loop · ${iterations}×` : "loop");
  }
  if (!SPLITS.has(task.type)) return head;
  if (task.type === "FORK_JOIN") {
    return splitBlock(
      head,
      (task.forkTasks || []).map((branch) => ({ block: blocksOf(branch, run) })),
    );
  }
  if (task.type === "FORK_JOIN_DYNAMIC") return splitBlock(head, dynamicBranches(item, run));
  const output = item.latest?.outputData || {};
  const selected = (output.evaluationResult || output.caseOutput || [])[0]; // SWITCH, legacy DECISION
  const cases = Object.keys(task.decisionCases || {});
  const chosen =
    run && item.latest ? (cases.includes(String(selected)) ? String(selected) : "default") : null;
  const branches = cases.map((name) => ({
    label: name,
    taken: chosen === null ? undefined : chosen === name,
  }));
  branches.push({ label: "default", taken: chosen === null ? undefined : chosen === "default" });
  for (const branch of branches) {
    const tasks = branch.label === "default" ? task.defaultCase : task.decisionCases[branch.label];
    branch.block = blocksOf(tasks, run, branch.taken);
  }
  return splitBlock(head, branches);
}

/** The branches a dynamic fork created in this execution, or one placeholder for a bare definition. */
function dynamicBranches(item, run) {
  const forked = item.latest?.inputData?.forkedTasks;
  if (!run || !Array.isArray(forked)) {
    return [
      {
        block: nodeBlock({ placeholder: true, ref: "dynamic tasks", task: { type: "decided at run time" } }),
      },
    ];
  }
  if (!forked.length) return [{ block: passBlock(true) }];
  return forked.map((forkedRef) => {
    const ref = run.has(forkedRef) ? forkedRef : forkedRef.replace(/__\d+$/, ""); // forked inside a loop
    const attempts = run.get(ref) || [];
    const task = attempts[attempts.length - 1]?.workflowTask || { name: ref, type: "SIMPLE" };
    return { block: blockOf({ ...task, taskReferenceName: ref }, run) };
  });
}

function typeLine(item) {
  const task = item.task;
  if (task.type === "SIMPLE" || !task.type) return task.name && task.name !== item.ref ? task.name : "SIMPLE";
  if (task.type === "SUB_WORKFLOW") return `↳ ${task.subWorkflowParam?.name ?? "SUB_WORKFLOW"}`;
  return task.type;
}

function subWorkflowId(item) {
  return item.latest?.subWorkflowId || item.latest?.outputData?.subWorkflowId;
}

function renderNode(item, onSelect) {
  const attempts = item.attempts?.length || 0;
  const status = item.executed ? item.status || "NOT_STARTED" : item.placeholder ? undefined : "";
  const group = s("g", {
    class: item.placeholder ? "node placeholder" : "node",
    transform: `translate(${item.x},${item.y})`,
    "data-ref": item.placeholder ? undefined : item.ref,
    "data-status": status,
    "data-attempts": item.executed ? attempts : undefined,
    tabindex: item.placeholder ? undefined : 0,
    role: item.placeholder ? undefined : "button",
  });
  group.append(
    s("title", {}, `${item.ref} (${item.task.type || "SIMPLE"})${item.status ? ` – ${item.status}` : ""}`),
    s("rect", { class: "box", width: NODE_W, height: NODE_H, rx: 7 }),
    s("rect", { class: "stripe", width: 5, height: NODE_H - 2, x: 1, y: 1, rx: 3 }),
    s("text", { class: "ref", x: 15, y: 19 }, truncate(item.ref, attempts > 1 ? 19 : 23)),
    s("text", { class: "type", x: 15, y: 35 }, truncate(typeLine(item), subWorkflowId(item) ? 18 : 25)),
  );
  if (attempts > 1) {
    group.append(s("text", { class: "count", x: NODE_W - 10, y: 19, "text-anchor": "end" }, `×${attempts}`));
  }
  const child = subWorkflowId(item);
  if (child) {
    const link = s(
      "a",
      { href: `#/executions/${encodeURIComponent(child)}`, class: "sublink", "data-child": child },
      s("text", { x: NODE_W - 10, y: 35, "text-anchor": "end" }, "open ↗"),
    );
    link.addEventListener("click", (event) => event.stopPropagation());
    group.append(link);
  }
  if (!item.placeholder) {
    group.addEventListener("click", () => onSelect(item.ref));
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        onSelect(item.ref);
      }
    });
  }
  return group;
}

function edgePath({ from, to }) {
  const curve = Math.min(GAP_Y, to.y - from.y);
  const bend = to.y - curve;
  const mid = to.y - curve / 2;
  return `M${from.x},${from.y} V${bend} C${from.x},${mid} ${to.x},${mid} ${to.x},${to.y}`;
}

function renderEdge(edge) {
  const classes = ["edge"];
  if (edge.from.ran && edge.to.ran && edge.taken !== false) classes.push("ran");
  if (edge.taken === false) classes.push("untaken");
  const group = s("g", { class: classes.join(" ") });
  group.append(
    s("path", {
      d: edge.plain ? `M${edge.from.x},${edge.from.y} V${edge.to.y}` : edgePath(edge),
      "marker-end": edge.plain ? undefined : "url(#arrow)",
    }),
  );
  if (edge.label) {
    group.append(
      s("text", { class: "edge-label", x: edge.to.x, y: edge.to.y - 7, "text-anchor": "middle" }, edge.label),
    );
  }
  return group;
}

function renderLoop(loop) {
  const d =
    `M${loop.from.x},${loop.from.y} V${loop.bottom} H${loop.right} V${loop.headMid} ` +
    `H${loop.headRight + 2}`;
  return s("path", { class: loop.ran ? "loop-back ran" : "loop-back", d, "marker-end": "url(#arrow)" });
}

/**
 * The SVG of `definition` (a WorkflowDef); with `tasks` (an execution's tasks) nodes carry their status.
 * `onSelect(ref)` is called when a node is clicked. Returns {svg, nodes: Map(ref -> node element)}.
 */
export function workflowGraph(definition, tasks, onSelect) {
  const run = tasks ? tasksByRef(tasks) : null;
  const ran = run !== null;
  const root = sequenceBlock([
    terminalBlock("start", ran),
    ...(definition.tasks || []).map((task) => blockOf(task, run)),
    terminalBlock("end", ran && tasks.length > 0),
  ]);
  const out = { nodes: [], edges: [], frames: [], loops: [], terminals: [] };
  root.place(MARGIN, MARGIN, out);
  const width = root.w + 2 * MARGIN;
  const height = root.h + 2 * MARGIN;
  const svg = s("svg", {
    class: "graph",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `Graph of ${definition.name}`,
  });
  svg.append(
    s(
      "defs",
      {},
      s(
        "marker",
        {
          id: "arrow",
          viewBox: "0 0 10 10",
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto",
        },
        s("path", { d: "M0,1 L9,5 L0,9 z", class: "arrow-head" }),
      ),
    ),
  );
  for (const frame of out.frames) {
    svg.append(
      s("rect", { class: "frame", x: frame.x, y: frame.y, width: frame.w, height: frame.h, rx: 10 }),
      s("text", { class: "frame-label", x: frame.x + 10, y: frame.y + 15 }, frame.label),
    );
  }
  for (const edge of out.edges) svg.append(renderEdge(edge));
  for (const loop of out.loops) svg.append(renderLoop(loop));
  for (const terminal of out.terminals) {
    svg.append(
      s("circle", {
        class: `terminal ${terminal.kind}`,
        cx: terminal.x,
        cy: terminal.y,
        r: TERMINAL / 2 - 1,
        "data-terminal": terminal.kind,
      }),
    );
  }
  const nodes = new Map();
  for (const item of out.nodes) {
    const element = renderNode(item, onSelect);
    svg.append(element);
    if (!item.placeholder) nodes.set(item.ref, element);
  }
  return { svg, nodes };
}

/** The WorkflowTask of every ref in a definition, nested ones included (for the definition's task panel). */
export function definitionTasks(definition) {
  const found = new Map();
  const visit = (tasks) => {
    for (const task of tasks || []) {
      found.set(task.taskReferenceName, task);
      for (const branch of task.forkTasks || []) visit(branch);
      for (const branch of Object.values(task.decisionCases || {})) visit(branch);
      visit(task.defaultCase);
      visit(task.loopOver);
    }
  };
  visit(definition.tasks);
  return found;
}
