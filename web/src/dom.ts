// The console's DOM: h builds elements, and morph brings a live tree in line with a freshly
// built one in place, so that a refresh keeps keyboard focus, typed input, open <details> and
// selections. No style attributes anywhere (the content security policy allows none).

export type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, unknown>;

// An element's listeners, by event type: h registers one dispatching listener per type, and
// morph swaps the functions, so a kept element calls the handlers of the latest render.
const handlers = new WeakMap<Element, Map<string, EventListener>>();

function listen(el: Element, type: string, fn: EventListener | undefined) {
  let m = handlers.get(el);
  if (!m) handlers.set(el, (m = new Map()));
  if (!m.has(type)) el.addEventListener(type, (ev) => handlers.get(el)?.get(type)?.(ev));
  if (fn) m.set(type, fn);
  else m.set(type, () => {});
}

/**
 * h makes an element: h("a", {href: "#/"}, "text"). Attributes named on* take listeners; false,
 * null and undefined leave an attribute out, true sets it empty. data-key names a child among
 * its siblings for morph (a row's id); data-opaque marks an element whose children another
 * library draws (a chart), which morph leaves alone.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") throw new Error("no style attributes: the content security policy refuses them");
    if (k.startsWith("on") && typeof v === "function") listen(el, k.slice(2), v as EventListener);
    else if (v === undefined || v === null || v === false) continue;
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

const svgNS = "http://www.w3.org/2000/svg";

/** s makes an SVG element (bars and marks sized by attributes, not styles). */
export function s(tag: string, attrs: Attrs = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(svgNS, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "number" ? String(c) : c);
  }
}

const keyOf = (n: Node) => (n instanceof Element ? n.getAttribute("data-key") : null);

function same(a: Node, b: Node): boolean {
  if (a.nodeType !== b.nodeType) return false;
  if (a instanceof Element && b instanceof Element) {
    return a.tagName === b.tagName && keyOf(a) === keyOf(b) && a.getAttribute("type") === b.getAttribute("type");
  }
  return true;
}

/**
 * morph makes live look like next, keeping every live node that matches (same tag, same
 * data-key) and changing only attributes and text that differ. Form fields keep what was typed
 * or chosen: morph sets value and checked as attributes only, which a field that has been
 * edited does not show, and a <details> stays open or closed as it was left. Returns the node that now stands for next.
 */
export function morph(live: Node, next: Node): Node {
  if (!same(live, next)) {
    live.parentNode?.replaceChild(next, live);
    return next;
  }
  if (live.nodeType === Node.TEXT_NODE || live.nodeType === Node.COMMENT_NODE) {
    if (live.nodeValue !== next.nodeValue) live.nodeValue = next.nodeValue;
    return live;
  }
  const a = live as Element;
  const b = next as Element;
  // A <details> is opened and closed by the person reading: its open attribute is theirs.
  const theirsToKeep = (name: string) => name === "open" && a.tagName === "DETAILS";
  for (const { name } of [...a.attributes]) if (!b.hasAttribute(name) && !theirsToKeep(name)) a.removeAttribute(name);
  for (const { name, value } of [...b.attributes]) if (a.getAttribute(name) !== value && !theirsToKeep(name)) a.setAttribute(name, value);
  const theirs = handlers.get(b);
  const ours = handlers.get(a);
  for (const type of new Set([...(ours?.keys() ?? []), ...(theirs?.keys() ?? [])])) listen(a, type, theirs?.get(type));
  if (a.hasAttribute("data-opaque")) return a;
  morphChildren(a, [...b.childNodes]);
  return a;
}

/** morphChildren makes parent's children look like next: keyed ones matched by key, the rest by place. */
export function morphChildren(parent: Element, next: Node[]) {
  const keyed = new Map<string, Node>();
  for (const c of parent.childNodes) {
    const k = keyOf(c);
    if (k !== null) keyed.set(k, c);
  }
  let cursor: ChildNode | null = parent.firstChild;
  for (const n of next) {
    const k = keyOf(n);
    let match: Node | null = null;
    if (k !== null) {
      match = keyed.get(k) ?? null;
      keyed.delete(k);
    } else if (cursor && keyOf(cursor) === null) {
      match = cursor;
    }
    if (match && same(match, n)) {
      if (match !== cursor) parent.insertBefore(match, cursor);
      else cursor = cursor.nextSibling;
      morph(match, n);
    } else {
      parent.insertBefore(n, cursor);
    }
  }
  while (cursor) {
    const after: ChildNode | null = cursor.nextSibling;
    cursor.remove();
    cursor = after;
  }
}

/** fields reads a form's named fields. */
export function fields(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => (out[k] = String(v)));
  return out;
}
