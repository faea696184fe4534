/**
 * The DAG as SVG. The layout (dagre, a maintained layered layout: MIT, 50 KB, no eval; see
 * layout.ts, run in a worker) depends only on the definition, so it is computed once per page;
 * status changes only swap a node's class and texts. Nodes keep their natural size (the view scrolls, it never shrinks text), and
 * each node is a focusable button: Enter or Space opens it (or toggles it in select mode).
 */
import type { Definition } from "./definition";
import { s } from "./dom";
import { statusClass } from "./format";
import { layout, type LayoutResult } from "./layout";

export const NODE_WIDTH = 216;
export const NODE_HEIGHT = 70;
const MAX_LABEL = 28;

export interface NodeState {
  status: string; // a word: Succeeded, Executing, Failed, Not run, ...
  attempts?: number;
  duration?: string;
  cacheSource?: string; // execution id the cached result came from
  reusedSource?: string; // execution id a selective execution reused the step from
  notTaken?: boolean; // in a condition branch that was not taken
}

interface NodeView {
  group: SVGGElement;
  status: SVGTextElement;
  meta: SVGTextElement;
  marker: SVGGElement;
  title: SVGTitleElement;
}

export interface DagOptions {
  onActivate: (step: string) => void;
  /** Links in nodes (cache and reuse sources) navigate through this. */
  hrefFor?: (executionId: string) => string;
}

function shorten(text: string): string {
  return text.length > MAX_LABEL ? text.slice(0, MAX_LABEL - 1) + "…" : text;
}

export class DagView {
  readonly svg: SVGSVGElement;
  private readonly views = new Map<string, NodeView>();
  private readonly types = new Map<string, string>();

  /** Lay the definition out (in a worker), then build its SVG. */
  static async create(definition: Definition, options: DagOptions): Promise<DagView> {
    const placed = await layout({
      nodes: definition.steps.map((step) => step.name),
      edges: definition.edges.map((edge) => [edge.from, edge.to]),
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
    });
    return new DagView(definition, placed, options);
  }

  private constructor(
    definition: Definition,
    placed: LayoutResult,
    private readonly options: DagOptions,
  ) {
    for (const step of definition.steps) this.types.set(step.name, step.type);
    const width = placed.width;
    const height = placed.height;
    this.svg = s("svg", {
      class: "dag",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "group",
      "aria-label": `Pipeline graph, ${definition.steps.length} steps`,
    });
    const defs = s(
      "defs",
      {},
      s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" })),
    );
    const edges = s("g", { class: "edges", "aria-hidden": "true" });
    definition.edges.forEach((edge, index) => {
      const points = placed.edges[index]?.points ?? [];
      if (!points.length) return;
      const d = points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
      edges.appendChild(s("path", { d, class: `edge edge-${edge.kind}`, "marker-end": "url(#arrow)" }));
    });
    const nodes = s("g", { class: "nodes" });
    for (const step of definition.steps) {
      const { x, y } = placed.nodes[step.name];
      const title = s("title", {}, step.name);
      const status = s("text", { x: 10, y: 40, class: "node-status" }, "");
      const meta = s("text", { x: 10, y: 58, class: "node-meta" }, step.type);
      const marker = s("g", { class: "node-marker" });
      const group = s(
        "g",
        {
          class: "node status-Pending",
          transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`,
          tabindex: 0,
          role: "button",
          "data-step": step.name,
          "data-box": `${x.toFixed(1)},${y.toFixed(1)},${NODE_WIDTH},${NODE_HEIGHT}`,
          onclick: (event: Event) => {
            if ((event.target as Element).closest("a")) return;
            this.options.onActivate(step.name);
          },
          onkeydown: (event: Event) => {
            const key = (event as KeyboardEvent).key;
            if ((key === "Enter" || key === " ") && event.target === group) {
              event.preventDefault();
              this.options.onActivate(step.name);
            }
          },
        },
        title,
        s("rect", { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 8, class: "node-box" }),
        s("text", { x: 10, y: 20, class: "node-name" }, shorten(step.displayName || step.name)),
        status,
        meta,
        marker,
      );
      this.views.set(step.name, { group, status, meta, marker, title });
      nodes.appendChild(group);
    }
    this.svg.append(defs, edges, nodes);
  }

  node(step: string): SVGGElement | undefined {
    return this.views.get(step)?.group;
  }

  setSelected(step: string, selected: boolean): void {
    const view = this.views.get(step);
    if (!view) return;
    view.group.classList.toggle("selected", selected);
    view.group.setAttribute("aria-pressed", String(selected));
    this.label(step);
  }

  update(states: Map<string, NodeState>): void {
    for (const [step, view] of this.views) {
      const state = states.get(step) ?? { status: "Not started" };
      const cls = `node ${statusClass(state.status)}${state.notTaken ? " not-taken" : ""}${
        view.group.classList.contains("selected") ? " selected" : ""
      }`;
      if (view.group.getAttribute("class") !== cls) view.group.setAttribute("class", cls);
      view.status.textContent = state.notTaken ? "Not run (branch not taken)" : state.status;
      const parts = [this.types.get(step) ?? ""];
      if (state.attempts && state.attempts > 0) parts.push(`${state.attempts} attempt${state.attempts > 1 ? "s" : ""}`);
      if (state.duration) parts.push(state.duration);
      view.meta.textContent = parts.join(" · ");
      view.marker.replaceChildren();
      const source = state.cacheSource ?? state.reusedSource;
      if (source) {
        const label = state.cacheSource ? "cache hit" : "reused";
        const href = this.options.hrefFor ? this.options.hrefFor(source) : "#";
        view.marker.appendChild(
          s("a", { href, class: "node-link", "aria-label": `${label}: from execution ${source}` },
            s("rect", { x: NODE_WIDTH - 78, y: 6, width: 70, height: 18, rx: 9, class: "badge" }),
            s("text", { x: NODE_WIDTH - 43, y: 19, class: "badge-text", "text-anchor": "middle" }, label)),
        );
      }
      view.title.textContent = `${step} (${this.types.get(step)}): ${view.status.textContent}`;
      this.label(step);
    }
  }

  private label(step: string): void {
    const view = this.views.get(step)!;
    const selected = view.group.classList.contains("selected") ? ", selected" : "";
    view.group.setAttribute("aria-label", `Step ${step}, ${this.types.get(step)}, ${view.status.textContent}${selected}`);
  }
}
