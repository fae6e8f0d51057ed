// #/compare?base=1&candidate=2: two replays of one capture side by side, kept current: their
// targets, speed, mode, status, window and progress; fingerprint by fingerprint, both sides,
// the p95 ratio, rows that differ, new errors with their messages and a verdict (worst first,
// filtered by verdict); and the targets' metrics overlaid on one axis of seconds from each
// replay's start.
import { api, compareSorts, Environment, Metric, Replay, ReplayComparison, verdicts } from "../api";
import { drawOverlay } from "../charts";
import { fields, h } from "../dom";
import { draw, Screen, Watch } from "../screen";
import { back, badge, cancelled, describedBy, field, FormError, formError, screenError } from "../ui";
import { progressWords, replayed, speedWords } from "./replays";
import { errorList, ms } from "./report";

/** The two sides' colours: base as the console's other charts, candidate apart from it. */
const colours = { base: "#1f6fb4", candidate: "#b4541f" } as const;

interface Side {
  r: Replay;
  metrics: Metric[] | null; // null: not read this time (the replay did not change)
}

export const compareScreen: Screen = (root, { query }) => {
  const ids = { base: Number(query.get("base")), candidate: Number(query.get("candidate")) };
  let sides: { base: Side; candidate: Side } | null = null;
  const metrics = { base: [] as Metric[], candidate: [] as Metric[] };
  const last = { base: "", candidate: "" };
  let envs: Environment[] = [];
  const cv: CompareView = { sort: "verdict", verdict: "", want: 50, cmp: null };
  const side = async (which: "base" | "candidate", signal: AbortSignal): Promise<Side> => {
    const r = await api.replay(ids[which], signal);
    const changed = JSON.stringify(r) !== last[which];
    return { r, metrics: changed && r.start ? await api.replayMetrics(r.id, signal) : null };
  };
  const w = new Watch(
    async (signal) => Promise.all([side("base", signal), side("candidate", signal), api.allEnvironments(signal),
      api.compare({ ...ids, limit: cv.want, sort: cv.sort, verdict: cv.verdict }, signal)]),
    ([base, candidate, es, cmp]) => {
      cv.cmp = cmp;
      for (const [k, s] of [["base", base], ["candidate", candidate]] as const) {
        last[k] = JSON.stringify(s.r);
        if (s.metrics) metrics[k] = s.metrics;
      }
      sides = { base, candidate };
      envs = es;
    },
    render,
  );

  function render() {
    if (!sides) return;
    const { base, candidate } = sides;
    const target = (r: Replay) => envs.find((e) => e.id === r.envId)?.envName ?? `environment ${r.envId}`;
    const row = (label: string, cell: (r: Replay) => Node | string) =>
      h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, cell(base.r)), h("td", {}, cell(candidate.r)));
    // Only series with points: a target that is not on RDS answers every series empty.
    const types = [...new Set([...metrics.base, ...metrics.candidate].filter((m) => m.dataPoints.length > 0).map((m) => m.type))];
    draw(root, [
      back(`#/captures/${base.r.captureId}`, "The capture"),
      h("h1", {}, "Compare replays"),
      screenError(w.error),
      base.r.captureId !== candidate.r.captureId ? h("p", { class: "error", role: "alert" }, "Replays of different captures cannot be compared.") : null,
      h("div", { class: "scroll" }, h("table", { class: "list", id: "sides" },
        h("caption", { class: "sr-only" }, "The two replays"),
        h("thead", {}, h("tr", {}, h("td", {}), h("th", { scope: "col" }, h("span", { class: "swatch base" }), "Base"), h("th", { scope: "col" }, h("span", { class: "swatch candidate" }), "Candidate"))),
        h("tbody", {},
          row("Replay", (r) => h("a", { href: `#/replays/${r.id}` }, r.name)),
          row("Target", target),
          row("Status", (r) => badge(r.status, cancelled(r))),
          row("Speed", (r) => speedWords(r.speed)),
          row("Statements", (r) => (r.mode === "read-only" ? "read-only" : "all")),
          row("Replayed", replayed),
          row("Progress", (r) => progressWords(r))))),
      comparisonView(cv, () => void w.kick()),
      h("h2", {}, "The targets' metrics"),
      h("section", { class: "charts", id: "metrics", "aria-label": "The targets' metrics, overlaid" }, ...(types.length
        ? types.map((type) => {
          const words = (m: Metric | undefined) => (m && m.dataPoints.length ? `${m.dataPoints.length} points, peak ${Math.max(...m.dataPoints.map((p) => p.Maximum)).toLocaleString(undefined, { maximumFractionDigits: 2 })}` : "no points");
          const b = metrics.base.find((m) => m.type === type);
          const c = metrics.candidate.find((m) => m.type === type);
          return h("figure", { class: "chart", "data-metric": type, "data-key": `metric-${type}` },
            h("div", { class: "plot", "data-opaque": true, "aria-hidden": "true" }),
            h("figcaption", {}, `${(b ?? c)!.displayName}, from each replay's start: `,
              h("span", { class: "swatch base" }), `base ${words(b)}; `, h("span", { class: "swatch candidate" }), `candidate ${words(c)}`));
        })
        : [h("p", { class: "empty" }, base.r.start || candidate.r.start
          ? "No metrics for these targets (CloudWatch has them for RDS targets)."
          : "Metrics appear once the replays start.")])),
    ]);
    for (const type of types) {
      const box = root.querySelector<HTMLElement>(`figure[data-metric="${CSS.escape(type)}"] .plot`);
      if (!box) continue;
      const line = (which: "base" | "candidate", r: Replay) => {
        const m = metrics[which].find((x) => x.type === type);
        const t0 = r.start ? Date.parse(r.start) / 1000 : 0;
        return { label: which, stroke: colours[which], xs: (m?.dataPoints ?? []).map((p) => Date.parse(p.Timestamp) / 1000 - t0), ys: (m?.dataPoints ?? []).map((p) => p.Maximum) };
      };
      const unit = (metrics.base.find((m) => m.type === type) ?? metrics.candidate.find((m) => m.type === type))?.dataPoints[0]?.Unit ?? "";
      drawOverlay(box, type, unit, [line("base", base.r), line("candidate", candidate.r)]);
    }
  }

  return w.start(root);
};

/** CompareView is what the compare screen keeps of the comparison: its order, verdict filter, page size and answer. */
interface CompareView {
  sort: string;
  verdict: string;
  want: number;
  cmp: ReplayComparison | null;
}

const verdictWords: Record<string, string> = { errors: "new errors", diverged: "diverged", regressed: "regressed", improved: "improved", same: "same" };
const sortWords: Record<string, string> = { impact: "impact (change in total time)", p95Ratio: "p95 ratio", verdict: "verdict, worst first", rowsDiffer: "rows that differ" };

/** verdictBadge shows a fingerprint's verdict. */
const verdictBadge = (v: string) => h("span", { class: `verdict v-${v}`, "data-verdict": v }, verdictWords[v] ?? v);

function comparisonView(cv: CompareView, kick: () => void) {
  const c = cv.cmp;
  if (!c) return h("section", { id: "comparison" }, h("p", { class: "loading" }, "Loading…"));
  const sum = c.summary;
  const counts: [string, number][] = [["errors", sum.newErrors], ["diverged", sum.diverged], ["regressed", sum.regressed], ["improved", sum.improved], ["same", sum.same]];
  const change = (ev: Event) => {
    const f = fields(ev.currentTarget as HTMLFormElement);
    cv.sort = f.sort;
    cv.verdict = f.verdict;
    kick();
  };
  return h("section", { id: "comparison", "aria-labelledby": "comparison-title" },
    h("h2", { id: "comparison-title" }, "Fingerprint by fingerprint"),
    h("p", { id: "comparison-summary" }, ...counts.flatMap(([v, n]) => [verdictBadge(v), ` ${n.toLocaleString()} `]),
      h("br", {}), `${c.compared.toLocaleString()} statements run by both, ${c.rowsDiffer.toLocaleString()} of them with different rows or errors${c.complete ? "" : " so far"}; percentiles within ${(c.relativeAccuracy * 100).toFixed(0)} %.`),
    h("form", { class: "search", id: "comparison-controls", "aria-label": "Fingerprints shown", onchange: change, onsubmit: (ev: Event) => ev.preventDefault() },
      field("comparison-controls", "Verdict", h("select", { name: "verdict" }, h("option", { value: "" }, "any"),
        ...verdicts.map((v) => h("option", { value: v, selected: cv.verdict === v }, verdictWords[v] ?? v))), null),
      field("comparison-controls", "Sort by", h("select", { name: "sort" },
        ...compareSorts.map((v) => h("option", { value: v, selected: cv.sort === v }, sortWords[v] ?? v))), null)),
    c.fingerprints.length === 0 ? h("p", { class: "empty", id: "no-fingerprints" }, "No fingerprints match.")
      : h("div", { class: "scroll" }, h("table", { class: "list comparison" },
        h("caption", { class: "sr-only" }, "Both replays, by fingerprint"),
        h("thead", {}, h("tr", {}, ...["Verdict", "Fingerprint", "Base: sent, errors", "Base p95", "Candidate: sent, errors", "Candidate p95", "p95 ratio", "Rows differ", "New errors"]
          .map((t, i) => h("th", { scope: "col", class: i >= 2 && i <= 5 || i === 7 ? "opt" : undefined }, t)))),
        h("tbody", {}, ...c.fingerprints.map((f) => h("tr", { "data-fingerprint": f.id, "data-key": `cf-${f.id}` },
          h("td", {}, verdictBadge(f.verdict)),
          h("td", { class: "fingerprint" }, h("code", {}, f.fingerprint || f.id),
            f.sample ? h("details", {}, h("summary", {}, "sample"), h("code", {}, f.sample)) : null, errorList(f.candidate.errorCodes)),
          h("td", { class: "num opt" }, `${f.base.count.toLocaleString()}, ${f.base.errors.toLocaleString()}`),
          h("td", { class: "num opt" }, ms(f.base.latencyMs.p95)),
          h("td", { class: "num opt" }, `${f.candidate.count.toLocaleString()}, ${f.candidate.errors.toLocaleString()}`),
          h("td", { class: "num opt" }, ms(f.candidate.latencyMs.p95)),
          h("td", { class: "num" }, f.p95Ratio === null ? "–" : `${f.p95Ratio.toFixed(2)}×`),
          h("td", { class: "num opt" }, f.rowsDiffer.toLocaleString()),
          h("td", { class: "num" }, f.newErrors.toLocaleString())))))),
    h("p", { class: "hint", id: "comparison-shown" }, `Showing ${c.fingerprints.length} of ${c.fingerprintCount.toLocaleString()} fingerprints.`),
    c.fingerprints.length < c.fingerprintCount && cv.want < 1000 ? h("button", { class: "more", id: "more-comparison", onclick: () => {
      cv.want = Math.min(1000, cv.want + 50);
      kick();
    } }, "Show 50 more") : null);
}

/** CompareFormState is what a capture's screen keeps of its compare form between refreshes. */
export interface CompareFormState {
  err: FormError | null;
}

/** compareForm picks two of a capture's replays, base and candidate, and opens their comparison. */
export function compareForm(replays: Replay[], st: CompareFormState, render: () => void) {
  const id = "compare";
  const err = st.err;
  const pick = (name: string, chosen: number) => h("select", { name },
    ...replays.map((r) => h("option", { value: r.id, "data-key": `replay-${r.id}`, selected: r.id === chosen }, r.name)));
  return h("form", { class: "inline-form", id, "data-key": id, "aria-describedby": describedBy(id, err), onsubmit: (ev: Event) => {
    ev.preventDefault();
    const f = fields(ev.currentTarget as HTMLFormElement);
    if (f.base === f.candidate) {
      st.err = { field: "candidate", message: "Choose two different replays." };
      render();
      return;
    }
    st.err = null;
    location.hash = `#/compare?base=${f.base}&candidate=${f.candidate}`;
  } },
  formError(id, err),
  field(id, "Base", pick("base", replays[replays.length - 1].id), err),
  field(id, "Candidate", pick("candidate", replays[0].id), err),
  h("button", { type: "submit", class: "small" }, "Compare"));
}
