// #/captures/7: a capture, live while it records: its facts, rename, stop, download, delete,
// its metric charts and its digest.
import { api, Capture, Digest, Environment, live, Metric, Replay } from "../api";
import { drawChart, Series, seconds } from "../charts";
import { fields, h } from "../dom";
import { Poller } from "../poller";
import { draw, Screen, toSignIn } from "../screen";
import { back, badge, cancelled, describedBy, field, fmtBytes, FormError, formError, message, nameInput, screenError, time } from "../ui";
import { DigestView, digestView, digestWant, readDigest } from "./digest";
import { CompareFormState, compareForm } from "./compare";
import { ReplayFormState, replayForm, replaysTable } from "./replays";

interface Read {
  c: Capture;
  metrics: Metric[] | null; // null: not read this time (the capture did not change)
  digest: { digest: Digest; next: string | null } | null;
  replays: Replay[];
  envs: Environment[];
}

export const captureScreen: Screen = (root, { id }) => {
  let c: Capture | null = null;
  let metrics: Metric[] = [];
  let last = ""; // the capture as last read, to read its metrics only when it changed
  let error: string | null = null;
  let renameError: FormError | null = null;
  let renamed: string | null = null;
  const dv: DigestView = { q: { sort: "count", user: "", database: "" }, want: digestWant, digest: null, next: null };
  let replays: Replay[] = [];
  let envs: Environment[] = [];
  const rf: ReplayFormState = { err: null, at: false, target: "" };
  const cf: CompareFormState = { err: null };

  const poller = new Poller<Read>(
    async (signal) => {
      const cap = await api.capture(id, signal);
      const changed = JSON.stringify(cap) !== last;
      const [m, d, rs, es] = await Promise.all([
        changed && cap.start ? api.metrics(id, signal) : Promise.resolve(null),
        cap.start ? readDigest(id, dv, signal) : Promise.resolve(null),
        api.replays({ captureId: id }, signal),
        api.allEnvironments(signal),
      ]);
      return { c: cap, metrics: m, digest: d, replays: rs, envs: es };
    },
    (r) => {
      last = JSON.stringify(r.c);
      c = r.c;
      if (r.metrics) metrics = r.metrics;
      dv.digest = r.digest?.digest ?? null;
      dv.next = r.digest?.next ?? null;
      replays = r.replays;
      envs = r.envs;
      error = null;
      render();
    },
    (e) => {
      if (toSignIn(e)) return;
      error = message(e);
      render();
    },
  );

  const act = async (what: () => Promise<unknown>, after?: () => void) => {
    try {
      await what();
      error = null;
      after?.();
      await poller.kick();
    } catch (e) {
      if (toSignIn(e)) return;
      error = message(e);
      render();
    }
  };

  function render() {
    if (!c) return;
    const cap = c;
    draw(root, [
      back("#/captures", "Captures"),
      screenError(error),
      head(cap),
      h("h2", {}, "Replays"),
      replays.length
        ? replaysTable(replays, new Map(envs.map((e) => [e.id, e.envName])), (p) => void act(() => p), new Map([[cap.id, cap.name]]))
        : h("p", { class: "hint", id: "no-replays" }, cap.status === "DONE" && cap.start ? "Not replayed yet." : "A capture is replayed once it is done."),
      replays.length >= 2 ? compareForm(replays, cf, render) : null,
      cap.status === "DONE" && cap.start && envs.length
        ? replayForm(cap, envs, rf, render, (r) => (location.hash = `#/replays/${r.id}`))
        : null,
      h("h2", {}, "Metrics"),
      h("section", { class: "charts", id: "metrics", "aria-label": "Metrics" }, ...(cap.start
        ? metrics.map(metricFigure)
        : [h("p", { class: "empty" }, "Metrics appear once the capture starts recording.")])),
      h("h2", {}, "Statements"),
      digestView(cap, dv, () => poller.soon(), () => void poller.kick()),
    ]);
    const w = { start: seconds(cap.start), end: seconds(cap.end) };
    for (const m of metrics) {
      const box = root.querySelector<HTMLElement>(`figure[data-metric="${CSS.escape(m.type)}"] .plot`);
      if (!box) continue;
      drawChart(box, metricSeries(m), w);
    }
    const tl = root.querySelector<HTMLElement>("#timeline .plot");
    const d = dv.digest;
    if (tl && d) {
      const b = d.timeline.bucketSeconds;
      drawChart(tl, { title: "Statements per second", unit: "stmt/s", times: d.timeline.points.map((p) => Date.parse(p.time) / 1000), values: d.timeline.points.map((p) => p.statements / b) }, w);
    }
  }

  function head(cap: Capture) {
    const rid = "rename";
    const rename = h("form", { class: "inline-form", id: rid, "aria-describedby": describedBy(rid, renameError), onsubmit: async (ev: Event) => {
      ev.preventDefault();
      const name = fields(ev.currentTarget as HTMLFormElement).name;
      try {
        const got = await api.renameCapture(cap.id, name);
        renameError = null;
        renamed = `Renamed to ${got.name}.`;
        await poller.kick();
      } catch (e) {
        if (toSignIn(e)) return;
        renameError = { field: null, message: message(e) };
        render();
      }
    } },
    formError(rid, renameError),
    field(rid, "Name", nameInput(cap.name), renameError),
    h("button", { type: "submit", class: "small" }, "Rename"));
    const gone = cancelled(cap);
    return h("div", { class: "card", "data-key": "head" },
      h("h1", {}, cap.name, " ", h("span", { role: "status", id: "capture-status" }, badge(cap.status, gone))),
      cap.reason ? h("p", { class: "reason" }, cap.reason) : null,
      h("dl", { class: "facts" },
        h("dt", {}, "Scheduled"), h("dd", {}, cap.scheduledStart ? time(cap.scheduledStart) : "at once", " → ", cap.scheduledEnd ? time(cap.scheduledEnd) : "until stopped"),
        h("dt", {}, "Recorded"), h("dd", {}, gone ? "never: cancelled before it started" : h("span", {}, time(cap.start), " → ", time(cap.end))),
        h("dt", {}, "Workload"), h("dd", { id: "workload" }, cap.workload
          ? `${cap.workload.statements.toLocaleString()} statements${cap.workload.bytes ? ", " + fmtBytes(cap.workload.bytes) : ""}`
          : "nothing yet"),
        h("dt", {}, "Owner"), h("dd", {}, cap.ownerName ?? cap.ownerId)),
      h("p", { class: "status", role: "status" }, renamed ?? ""),
      h("div", { class: "row" },
        rename,
        live(cap.status) ? h("button", { class: "small", id: "stop", onclick: () => act(() => api.stopCapture(cap.id)) },
          cap.status === "SCHEDULED" ? "Cancel" : "Stop") : null,
        h("button", { class: "small", id: "download", disabled: !cap.workload?.bytes, onclick: () => act(async () => {
          const blob = await api.workload(cap.id);
          const a = h("a", { href: URL.createObjectURL(blob), download: `capture-${cap.id}.jsonl.gz` });
          a.click();
          URL.revokeObjectURL(a.href);
        }) }, "Download workload"),
        h("span", { class: "danger" },
          h("label", { class: "inline" }, h("input", { type: "checkbox", name: "deleteLogs", id: "delete-logs" }), "also delete its files (workload and metrics)"),
          h("button", { class: "small danger", id: "delete", onclick: () => {
            if (!confirm(`Delete capture ${cap.name}?`)) return;
            const logs = root.querySelector<HTMLInputElement>("#delete-logs")?.checked ?? false;
            void act(() => api.deleteCapture(cap.id, logs), () => (location.hash = "#/captures"));
          } }, "Delete"))));
  }

  root.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  void poller.kick();
  return () => poller.stop();
};

/** metricFigure is a metric's chart box (drawn into by drawChart) with its words. */
export function metricFigure(m: Metric) {
  return h("figure", { class: "chart", "data-metric": m.type, "data-key": `metric-${m.type}` },
    h("div", { class: "plot", "data-opaque": true, "aria-hidden": "true" }),
    h("figcaption", {}, summary(m)));
}

/** metricSeries is a metric's points as a chart's series (the maximum of each). */
export function metricSeries(m: Metric): Series {
  return { title: m.displayName, unit: m.dataPoints[0]?.Unit ?? "", times: m.dataPoints.map((p) => Date.parse(p.Timestamp) / 1000), values: m.dataPoints.map((p) => p.Maximum) };
}

/** summary is a metric chart's text alternative: its points, peak and latest value. */
function summary(m: Metric): string {
  const pts = m.dataPoints;
  if (pts.length === 0) return `${m.displayName}: no points`;
  const unit = pts[0].Unit;
  const peak = pts.reduce((a, b) => (b.Maximum > a.Maximum ? b : a));
  const fmt = (v: number) => (Number.isInteger(v) ? v.toLocaleString() : v.toFixed(2));
  return `${m.displayName}: ${pts.length} points, peak ${fmt(peak.Maximum)} ${unit}, latest ${fmt(pts[pts.length - 1].Maximum)} ${unit}`;
}
