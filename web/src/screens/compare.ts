// #/compare?base=1&candidate=2: two replays of one capture side by side, kept current: their
// targets, speed, mode, status, window and progress, and the targets' metrics overlaid on one
// axis of seconds from each replay's start. (The fingerprint-by-fingerprint table joins them
// when the API serves GET /api/replays/compare.)
import { api, Environment, Metric, Replay } from "../api";
import { drawOverlay } from "../charts";
import { fields, h } from "../dom";
import { Poller } from "../poller";
import { draw, Screen, toSignIn } from "../screen";
import { back, badge, cancelled, describedBy, field, FormError, formError, message, screenError } from "../ui";
import { progressWords, replayed, speedWords } from "./replays";

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
  let error: string | null = null;
  const side = async (which: "base" | "candidate", signal: AbortSignal): Promise<Side> => {
    const r = await api.replay(ids[which], signal);
    const changed = JSON.stringify(r) !== last[which];
    return { r, metrics: changed && r.start ? await api.replayMetrics(r.id, signal) : null };
  };
  const poller = new Poller(
    async (signal) => Promise.all([side("base", signal), side("candidate", signal), api.allEnvironments(signal)]),
    ([base, candidate, es]) => {
      for (const [k, s] of [["base", base], ["candidate", candidate]] as const) {
        last[k] = JSON.stringify(s.r);
        if (s.metrics) metrics[k] = s.metrics;
      }
      sides = { base, candidate };
      envs = es;
      error = null;
      render();
    },
    (e) => {
      if (toSignIn(e)) return;
      error = message(e);
      render();
    },
  );

  function render() {
    if (!sides) return;
    const { base, candidate } = sides;
    const target = (r: Replay) => envs.find((e) => e.id === r.envId)?.envName ?? `environment ${r.envId}`;
    const row = (label: string, cell: (r: Replay) => Node | string) =>
      h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, cell(base.r)), h("td", {}, cell(candidate.r)));
    const types = [...new Set([...metrics.base, ...metrics.candidate].map((m) => m.type))];
    draw(root, [
      back(`#/captures/${base.r.captureId}`, "The capture"),
      h("h1", {}, "Compare replays"),
      screenError(error),
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

  root.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  void poller.kick();
  return () => poller.stop();
};

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
