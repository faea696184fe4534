/**
 * Client-side routes, the same paths `pipelines serve` answers with the app (deep links work
 * from a fresh tab). Each page gets an AbortSignal that fires when the user leaves it, which
 * stops its polling.
 */
import { errorBox } from "./ui";

export type Page = (main: HTMLElement, params: Record<string, string>, signal: AbortSignal) => Promise<void>;

interface Route {
  pattern: RegExp;
  names: string[];
  page: Page;
}

const routes: Route[] = [];
let leave: AbortController | null = null;

export function route(path: string, page: Page): void {
  const names: string[] = [];
  const pattern = new RegExp(
    "^" + path.replace(/:(\w+)/g, (_m, name: string) => (names.push(name), "([^/]+)")) + "/?$",
  );
  routes.push({ pattern, names, page });
}

export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  void render();
}

export async function render(): Promise<void> {
  leave?.abort();
  leave = new AbortController();
  const signal = leave.signal;
  const main = document.getElementById("main")!;
  const path = window.location.pathname;
  for (const r of routes) {
    const match = r.pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = Object.fromEntries(new URLSearchParams(window.location.search));
    r.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1])));
    try {
      await r.page(main, params, signal);
    } catch (error) {
      if (!signal.aborted) main.replaceChildren(errorBox(error, "This page could not be shown"));
    }
    return;
  }
  main.replaceChildren(document.createTextNode(`No page at ${path}.`));
}

/** Same-origin links to console routes navigate in place; others (S3 objects, new tabs) as usual. */
export function interceptLinks(): void {
  document.addEventListener("click", (event) => {
    const mouse = event as MouseEvent;
    if (mouse.defaultPrevented || mouse.button !== 0 || mouse.metaKey || mouse.ctrlKey || mouse.shiftKey || mouse.altKey) return;
    const anchor = (event.target as Element | null)?.closest("a");
    const href = anchor?.getAttribute("href");
    if (!anchor || !href || anchor.getAttribute("target") || anchor.hasAttribute("download")) return;
    const url = new URL(href, window.location.href);
    if (url.origin !== window.location.origin) return;
    if (!routes.some((r) => r.pattern.test(url.pathname))) return;
    event.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
  window.addEventListener("popstate", () => void render());
}
