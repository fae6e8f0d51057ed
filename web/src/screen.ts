// What a screen is to the router: it draws into root and keeps it current (its own poller)
// until the router calls the function it returned, when another screen takes root.
import { Page } from "./api";
import { Child, h, morphChildren } from "./dom";
import { Poller } from "./poller";
import { message, signedOut } from "./ui";

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
 * Watch is a screen's poller and its error line (error, for screenError): each answer is
 * applied and the screen drawn again; a failed read or action shows as error until a read
 * succeeds, and a lapsed sign-in goes to the sign-in screen instead.
 */
export class Watch<T> {
  error: string | null = null;
  private readonly poller: Poller<T>;

  constructor(load: (signal: AbortSignal) => Promise<T>, apply: (answer: T) => void, readonly render: () => void) {
    this.poller = new Poller(load, (answer) => {
      apply(answer);
      this.error = null;
      render();
    }, (e) => this.fail(e));
  }

  /** start shows root loading until the first answer, and returns how to stop: the screen's own return. */
  start(root: HTMLElement): () => void {
    root.replaceChildren(h("p", { class: "loading" }, "Loading…"));
    void this.poller.kick();
    return () => this.poller.stop();
  }

  /** kick reads now (see Poller.kick). */
  kick = () => this.poller.kick();

  /** soon reads after ms of quiet, a pause in typing by default (see Poller.soon). */
  soon = (ms?: number) => this.poller.soon(ms);

  /** fail shows e as the screen's error, or sends a lapsed sign-in to the sign-in screen. */
  fail(e: unknown) {
    if (toSignIn(e)) return;
    this.error = message(e);
    this.render();
  }

  /** act does what, then after (a move elsewhere), then reads again; a failure shows as the screen's error. */
  act = async (what: () => Promise<unknown>, after?: () => void) => {
    try {
      await what();
      this.error = null;
      after?.();
      await this.poller.kick();
    } catch (e) {
      this.fail(e);
    }
  };
}

/** Acts is what a screen's parts need of its Watch: to read again, to act, to draw again. */
export type Acts = Pick<Watch<unknown>, "kick" | "act" | "render">;

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
