// A replay's report on its screen: its statements (captured, replayed, skipped, failed, not
// replayed), lateness, and per fingerprint the statements sent, errors with their messages,
// rows and latency with bars, in the order chosen, a page at a time.
import { api, ErrorCodes, LatencyMs, ReplayReport, reportSorts } from "../api";
import { Child, h, s } from "../dom";
import { field } from "../ui";

/** reportWant is a report page's size: the fingerprints shown first, and each "more" adds. */
export const reportWant = 20;

const sortWords: Record<string, string> = { total: "total time", p95: "p95", errors: "errors", count: "statements" };

/** ReportView is what the replay's screen keeps of its report: the order, how many to show, what was read. */
export interface ReportView {
  sort: string;
  want: number;
  report: ReplayReport | null;
}

/** readReport reads the report's first rv.want fingerprints in rv.sort's order. */
export const readReport = (id: number, rv: ReportView, signal: AbortSignal) =>
  api.report(id, { limit: Math.min(rv.want, 1000), sort: rv.sort }, signal);

/** ms words milliseconds: "0.18 ms", "812 ms", "2.4 s". */
export const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(v >= 1 ? 1 : 2)} ms`);

/** errorList shows statements that failed by error number, each with its first message. */
export function errorList(codes: ErrorCodes): Child {
  const entries = Object.entries(codes);
  if (entries.length === 0) return null;
  return h("ul", { class: "errors" }, ...entries.map(([code, e]) =>
    h("li", { "data-code": code }, h("strong", {}, `${code}`), ` ×${e.count.toLocaleString()}: `, h("span", { class: "message" }, e.message))));
}

/**
 * latencyBars draws p50, p95, p99 and max on one scale (scale: the largest max in the table):
 * a bar to p95, a lighter one on to p99, a tick at p50 and one at max. Sized by SVG attributes.
 */
export function latencyBars(l: LatencyMs, scale: number, label: string) {
  const x = (v: number) => (scale > 0 ? Math.min(100, (v / scale) * 100) : 0).toFixed(1);
  const tick = (v: number) => (scale > 0 ? Math.min(99, (v / scale) * 100) : 0).toFixed(1); // a 1-wide mark, inside the box
  return s("svg", { class: "latency", viewBox: "0 0 100 12", preserveAspectRatio: "none", role: "img",
    "aria-label": `${label}: p50 ${ms(l.p50)}, p95 ${ms(l.p95)}, p99 ${ms(l.p99)}, max ${ms(l.max)}` },
  s("rect", { class: "lat-bg", width: 100, height: 12 }),
  s("rect", { class: "lat-p99", width: x(l.p99), height: 12 }),
  s("rect", { class: "lat-p95", width: x(l.p95), height: 12 }),
  s("rect", { class: "lat-p50", x: tick(l.p50), width: 1, height: 12 }),
  s("rect", { class: "lat-max", x: tick(l.max), width: 1, height: 12 }));
}

/** reportView draws the report; kick asks the screen's poller to read again now. */
export function reportView(rv: ReportView, kick: () => void) {
  const r = rv.report;
  if (!r) return h("section", { id: "report" }, h("p", { class: "loading" }, "Loading…"));
  const st = r.statements;
  const scale = r.fingerprints.reduce((m, f) => Math.max(m, f.latencyMs.max), 0);
  return h("section", { id: "report", "aria-labelledby": "report-title" },
    h("h2", { id: "report-title" }, "What it did"),
    h("p", { id: "report-summary" },
      `${st.replayed.toLocaleString()} of ${st.captured.toLocaleString()} captured statements replayed, ${st.errors.toLocaleString()} failed, `,
      `${st.skipped.toLocaleString()} skipped (read-only), ${st.notReplayed.toLocaleString()} not replayed${r.complete ? "" : " so far"}. `,
      `Lateness: p50 ${ms(r.lateness.p50Ms)}, p99 ${ms(r.lateness.p99Ms)}, max ${ms(r.lateness.maxMs)} behind schedule. `,
      h("small", { class: "hint" }, `Percentiles within ${(r.relativeAccuracy * 100).toFixed(0)} %.`)),
    h("form", { class: "search", id: "report-controls", "aria-label": "Fingerprints shown", onsubmit: (ev: Event) => ev.preventDefault(),
      onchange: (ev: Event) => {
        rv.sort = (ev.target as HTMLSelectElement).value;
        rv.want = reportWant;
        kick();
      } },
    field("report-controls", "Sort by", h("select", { name: "sort" },
      ...reportSorts.map((v) => h("option", { value: v, selected: rv.sort === v }, sortWords[v] ?? v))), null)),
    r.fingerprints.length === 0 ? h("p", { class: "empty" }, r.complete ? "Nothing was replayed." : "Nothing replayed yet.")
      : h("div", { class: "scroll" }, h("table", { class: "list report" },
        h("caption", { class: "sr-only" }, "What the replay did, by fingerprint"),
        h("thead", {}, h("tr", {}, ...["Fingerprint", "Sent", "Errors", "Rows", "Total", "p50", "p95", "p99", "Max", "Latency"]
          .map((t, i) => h("th", { scope: "col", class: i >= 3 && i <= 8 ? "opt" : undefined }, t)))),
        h("tbody", {}, ...r.fingerprints.map((f) => h("tr", { "data-fingerprint": f.id, "data-key": `rf-${f.id}` },
          h("td", { class: "fingerprint" }, h("code", {}, f.fingerprint || f.id),
            f.sample ? h("details", {}, h("summary", {}, "sample"), h("code", {}, f.sample)) : null, errorList(f.errorCodes)),
          h("td", { class: "num" }, f.count.toLocaleString(), f.skipped ? h("small", { class: "hint" }, ` +${f.skipped.toLocaleString()} skipped`) : null),
          h("td", { class: "num" }, f.errors.toLocaleString()),
          h("td", { class: "num opt" }, f.rows.toLocaleString()),
          h("td", { class: "num opt" }, ms(f.latencyMs.total)),
          h("td", { class: "num opt" }, ms(f.latencyMs.p50)),
          h("td", { class: "num opt" }, ms(f.latencyMs.p95)),
          h("td", { class: "num opt" }, ms(f.latencyMs.p99)),
          h("td", { class: "num opt" }, ms(f.latencyMs.max)),
          h("td", {}, latencyBars(f.latencyMs, scale, f.fingerprint || f.id))))))),
    h("p", { class: "hint", id: "report-shown" }, `Showing ${r.fingerprints.length} of ${r.fingerprintCount.toLocaleString()} fingerprints.`),
    r.fingerprints.length < r.fingerprintCount && rv.want < 1000 ? h("button", { class: "more", id: "more-report", onclick: () => {
      rv.want = r.fingerprints.length + reportWant;
      kick();
    } }, `Show ${reportWant} more`) : null);
}
