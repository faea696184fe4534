/** Small shared pieces of the pages: status badges, errors, tables, links. */
import { ApiError } from "./api";
import { h, type Child } from "./dom";
import { statusClass } from "./format";

/** A status as a word in a coloured badge (the colour is never the only signal). */
export function badge(status: string | undefined): HTMLSpanElement {
  const word = status || "Unknown";
  return h("span", { class: `badge ${statusClass(word)}` }, word);
}

export function errorBox(error: unknown, what = "The request failed"): HTMLElement {
  if (error instanceof ApiError) {
    const hint = error.refusedPage
      ? h("p", {}, "The API refuses calls from this page. Add ", h("code", {}, 'allowed_origins = ["self"]'),
          " under ", h("code", {}, "[serve]"), " in pipelines.toml and restart pipelines serve.")
      : null;
    return h("div", { class: "error", role: "alert" }, h("strong", {}, `${what}: ${error.code}`),
      h("pre", { class: "reason" }, error.message), hint);
  }
  return h("div", { class: "error", role: "alert" }, h("strong", {}, what), h("pre", { class: "reason" }, String(error)));
}

export function table(caption: string, headers: string[], rows: Child[][], attrs: Record<string, string> = {}): HTMLTableElement {
  return h(
    "table",
    attrs,
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))),
  );
}

export function executionHref(id: string): string {
  return `/executions/${encodeURIComponent(id)}`;
}

export function pipelineHref(name: string): string {
  return `/pipelines/${encodeURIComponent(name)}`;
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { "aria-label": title }, h("h2", {}, title), ...children);
}

/** Wait `ms` or until the page is left; resolves false when left. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(!signal.aborted), ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve(false)), { once: true });
  });
}
