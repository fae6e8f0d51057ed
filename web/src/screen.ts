// What a screen is to the router: it draws into root and keeps it current (its own poller)
// until the router calls the function it returned, when another screen takes root.
import { Page } from "./api";
import { Child, morphChildren } from "./dom";
import { signedOut } from "./ui";

/** Args is what the route gives a screen: the id in its path (0 for none), and its query (#/captures?env=3). */
export interface Args {
  id: number;
  query: URLSearchParams;
}

/** Screen draws into root and returns how to stop it. */
export type Screen = (root: HTMLElement, args: Args) => () => void;

/** draw makes root show nodes, keeping what is already there where it matches (see morph). */
export function draw(root: HTMLElement, nodes: Child[]) {
  const out: Node[] = [];
  for (const n of nodes) {
    if (n === null || n === undefined || n === false) continue;
    out.push(typeof n === "string" || typeof n === "number" ? document.createTextNode(String(n)) : n);
  }
  morphChildren(root, out);
}

/** toSignIn sends the browser to the sign-in screen when e says the sign-in has lapsed, and says whether it did. */
export function toSignIn(e: unknown): boolean {
  if (!signedOut(e)) return false;
  location.hash = "#/signin";
  return true;
}

/**
 * pages reads a list from its first page until it holds at least want items or has no more,
 * following each page's Link header (rel="next"): the pages the screen shows, read again.
 */
export async function pages<T>(first: (signal: AbortSignal) => Promise<Page<T>>, next: (url: string, signal: AbortSignal) => Promise<Page<T>>, want: number, signal: AbortSignal): Promise<Page<T>> {
  let p = await first(signal);
  const items = [...p.items];
  while (items.length < want && p.next) {
    p = await next(p.next, signal);
    items.push(...p.items);
  }
  return { items, next: p.next };
}
