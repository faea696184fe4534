/**
 * DOM building without HTML strings. Every text goes in as a Text node and every attribute
 * through setAttribute, so nothing from a definition, a parameter, a log line or a failure
 * reason is ever parsed as markup (tests/console/test_bundle.py forbids HTML parsing APIs). Inline styles are
 * refused too: the Content-Security-Policy has no 'unsafe-inline'.
 */
export type Child = Node | string | number | null | undefined | false | Child[];
type Handler = (event: Event) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler>;

function apply(el: Element, attrs: Attrs | undefined): void {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "style") throw new Error("inline styles are not allowed (CSP)");
    if (typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(value);
    } else if (name === "checked" && el instanceof HTMLInputElement) {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A block of JSON, pretty-printed, as text. */
export function json(value: unknown): HTMLPreElement {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

/**
 * `replace`, keeping keyboard focus: if the focused element inside `el` has an id, the new
 * element with that id gets the focus back (live updates must not throw a keyboard user out).
 */
export function replaceKeepingFocus(el: Element, ...children: Child[]): void {
  const active = document.activeElement;
  const id = active && el.contains(active) ? active.id : "";
  replace(el, ...children);
  if (id) (document.getElementById(id) as HTMLElement | null)?.focus();
}
