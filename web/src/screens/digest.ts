// A capture's digest on its screen: the summary with the total of fingerprints, the
// statements-per-second timeline, and the fingerprints a page at a time ("more" follows the
// Link cursor), in the order chosen, for one account or database if asked.
import { api, Capture, Digest, DigestQuery, live } from "../api";
import { fields, h, s } from "../dom";
import { field, time } from "../ui";

/** digestWant is a digest page's size: the fingerprints shown first, and each "more" adds. */
export const digestWant = 10;

const sorts: Record<string, string> = { count: "most run", firstSeen: "first seen", lastSeen: "last seen", fingerprint: "fingerprint" };

/** DigestView is what the capture's screen holds of its digest: the query, how many to show, and what was read. */
export interface DigestView {
  q: { sort: string; user: string; database: string };
  want: number;
  digest: Digest | null; // the pages read, their fingerprints together
  next: string | null;
}

/** readDigest reads the digest's pages from the first until dv.want fingerprints, following each Link. */
export async function readDigest(id: number, dv: DigestView, signal: AbortSignal) {
  const q: DigestQuery = { limit: digestWant, sort: dv.q.sort, user: dv.q.user.trim(), database: dv.q.database.trim() };
  let page = await api.digest(id, q, signal);
  const all = { ...page.digest, fingerprints: [...page.digest.fingerprints] };
  while (all.fingerprints.length < dv.want && page.next) {
    page = await api.digestNext(page.next, signal);
    all.fingerprints.push(...page.digest.fingerprints);
  }
  return { digest: all, next: page.next };
}

/** digestView draws the digest; soon and kick ask the screen's poller to read again (after typing, or now). */
export function digestView(c: Capture, dv: DigestView, soon: () => void, kick: () => void) {
  if (!c.start) return h("section", { id: "digest" }, h("p", { class: "empty" }, "Statements appear once the capture has recorded some."));
  const d = dv.digest;
  const changed = (ev: Event) => {
    const f = fields(ev.currentTarget as HTMLFormElement);
    dv.q = { sort: f.sort, user: f.user, database: f.database };
    dv.want = digestWant;
    if (ev.type === "input" && (ev.target as HTMLElement).tagName === "INPUT") soon();
    else kick();
  };
  const controls = h("form", { class: "search", id: "digest-controls", role: "search", "aria-label": "Statements shown",
    oninput: changed, onchange: changed, onsubmit: (ev: Event) => ev.preventDefault() },
  field("digest-controls", "Sort by", h("select", { name: "sort" },
    ...Object.entries(sorts).map(([v, label]) => h("option", { value: v, selected: dv.q.sort === v }, label))), null),
  field("digest-controls", "User", h("input", { name: "user", type: "search", placeholder: "any account", autocomplete: "off" }), null),
  field("digest-controls", "Database", h("input", { name: "database", type: "search", placeholder: "any database", autocomplete: "off" }), null));
  if (!d) return h("section", { id: "digest" }, controls, h("p", { class: "loading" }, "Loading…"));
  const filtered = dv.q.user.trim() !== "" || dv.q.database.trim() !== "";
  if (d.statements === 0 && !filtered) {
    return h("section", { id: "digest" }, h("p", { class: "empty" }, live(c.status)
      ? "No statements recorded yet: they appear here as the server runs them."
      : "This capture recorded no statements."));
  }
  const b = d.timeline.bucketSeconds;
  const peak = d.timeline.points.reduce((m, p) => Math.max(m, p.statements / b), 0);
  return h("section", { id: "digest" },
    h("p", { id: "digest-summary" },
      `${d.statements.toLocaleString()} statements from ${d.sessions.toLocaleString()} sessions, `,
      `${d.fingerprintCount.toLocaleString()} fingerprint${d.fingerprintCount === 1 ? "" : "s"}${d.complete ? "" : " so far"}`,
      filtered ? " (filtered)" : "", "."),
    controls,
    h("figure", { class: "chart", id: "timeline" },
      h("div", { class: "plot", "data-opaque": true, "aria-hidden": "true" }),
      h("figcaption", {}, d.timeline.points.length
        ? `Statements per second in ${d.timeline.points.length} buckets of ${b} s, peak ${peak.toLocaleString(undefined, { maximumFractionDigits: 1 })}/s`
        : "Statements per second: no points")),
    d.fingerprints.length === 0 ? h("p", { class: "empty" }, "No statements match.") : fingerprintTable(d),
    h("p", { class: "hint", id: "fingerprints-shown" }, `Showing ${d.fingerprints.length} of ${d.fingerprintCount.toLocaleString()} fingerprints.`),
    dv.next ? h("button", { class: "more", id: "more-fingerprints", onclick: () => {
      dv.want = d.fingerprints.length + digestWant;
      kick();
    } }, `Show ${digestWant} more`) : null);
}

const top = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k]) => k).join(", ");

function fingerprintTable(d: Digest) {
  return h("div", { class: "scroll" }, h("table", { class: "list digest" },
    h("caption", { class: "sr-only" }, "Statements by fingerprint"),
    h("thead", {}, h("tr", {}, ...["Count", "Share", "Fingerprint", "First seen", "Last seen", "Users", "Databases"]
      .map((t, i) => h("th", { scope: "col", class: i >= 3 ? "opt" : undefined }, t)))),
    h("tbody", {}, ...d.fingerprints.map((f) => h("tr", { "data-fingerprint": f.id, "data-key": `fp-${f.id}` },
      h("td", { class: "num" }, f.count.toLocaleString()),
      h("td", { class: "share" }, bar(f.share), ` ${(f.share * 100).toFixed(1)}%`),
      h("td", { class: "fingerprint" }, h("code", {}, f.fingerprint), h("details", {}, h("summary", {}, "sample"), h("code", {}, f.sample))),
      h("td", { class: "opt" }, time(f.firstSeen)),
      h("td", { class: "opt" }, time(f.lastSeen)),
      h("td", { class: "opt" }, top(f.users)),
      h("td", { class: "opt" }, top(f.databases)))))));
}

/** bar is a share (0 to 1) as a bar sized by an SVG attribute: no style attribute. */
export function bar(share: number) {
  const w = Math.max(0, Math.min(1, share)) * 100;
  return s("svg", { class: "meter", viewBox: "0 0 100 10", preserveAspectRatio: "none", "aria-hidden": "true" },
    s("rect", { class: "meter-bg", width: 100, height: 10 }), s("rect", { class: "meter-fg", width: w.toFixed(1), height: 10 }));
}
