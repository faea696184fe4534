/**
 * The DAG's layout (dagre's layered layout), computed in a Web Worker so that a 500-step graph
 * (seconds of layout) never freezes the page; on the main thread only if a worker cannot start.
 * It depends only on the definition: computed once per page.
 */
import type dagreModule from "@dagrejs/dagre";

export interface LayoutInput {
  nodes: string[];
  edges: [string, string][];
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface LayoutResult {
  width: number;
  height: number;
  /** Top-left corner of each node. */
  nodes: Record<string, Point>;
  edges: { from: string; to: string; points: Point[] }[];
}

export function computeLayout(dagre: typeof dagreModule, input: LayoutInput): LayoutResult {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 48, edgesep: 12, marginx: 16, marginy: 16 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of input.nodes) graph.setNode(node, { width: input.width, height: input.height });
  for (const [from, to] of input.edges) graph.setEdge(from, to);
  dagre.layout(graph);
  const nodes: Record<string, Point> = {};
  for (const node of input.nodes) {
    const box = graph.node(node);
    nodes[node] = { x: box.x - input.width / 2, y: box.y - input.height / 2 };
  }
  const edges = input.edges.map(([from, to]) => ({
    from,
    to,
    points: ((graph.edge(from, to)?.points ?? []) as Point[]).map((p) => ({ x: p.x, y: p.y })),
  }));
  const size = graph.graph();
  return { width: Math.ceil(size.width ?? 0), height: Math.ceil(size.height ?? 0), nodes, edges };
}

async function onMainThread(input: LayoutInput): Promise<LayoutResult> {
  const dagre = (await import("@dagrejs/dagre")).default;
  return computeLayout(dagre, input);
}

export function layout(input: LayoutInput): Promise<LayoutResult> {
  let worker: Worker;
  try {
    worker = new Worker(new URL("layout-worker.js", import.meta.url), { type: "module" });
  } catch {
    return onMainThread(input);
  }
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<LayoutResult>) => {
      worker.terminate();
      resolve(event.data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      resolve(onMainThread(input));
    };
    worker.postMessage(input);
  });
}
