// What the capture and replay screens share, each kind's differences as data (Kind): the head
// card of the one they follow (name and status, reason, facts, the rename form, the stop and
// delete buttons) and its metric charts.
import { api, Capture, live, Metric, Replay, replayRule, Status } from "../api";
import { drawChart, Series, seconds } from "../charts";
import { Child, fields, h } from "../dom";
import { Acts, toSignIn } from "../screen";
import { badge, cancelled, describedBy, field, FormError, formError, message, nameInput } from "../ui";

/** Item is what the head shows of a capture or a replay. */
interface Item {
  id: number;
  name: string;
  status: Status;
  reason?: string | null;
  start?: string | null;
  end?: string | null;
  ownerName?: string | null;
  ownerId: string;
}

/** Kind is what differs between a capture's head and a replay's. */
export interface Kind<T extends Item> {
  name: "capture" | "replay";
  ids: string; // what the head's element ids end in: a capture's came first (#rename, #stop, #delete)
  rule?: { pattern: string; description: string }; // its name rule (none: the captures')
  files: string; // what deleting its files deletes
  stopsFirst: boolean; // whether deleting a live one stops it first (the question says so)
  takes: string; // what else deleting it deletes ("" for nothing), for the question
  rename: (id: number, name: string) => Promise<{ name: string }>;
  stop: (id: number) => Promise<unknown>;
  remove: (id: number, files: boolean) => Promise<unknown>;
  gone: (it: T) => string; // where the screen goes once it is deleted
}

export const captureKind: Kind<Capture> = {
  name: "capture", ids: "", files: "workload and metrics, and its replays'", stopsFirst: false,
  takes: " and its replays (a running one is stopped first)",
  rename: api.renameCapture, stop: api.stopCapture, remove: api.deleteCapture, gone: () => "#/captures",
};

export const replayKind: Kind<Replay> = {
  name: "replay", ids: "-replay", rule: replayRule, files: "plan, shards and outcomes", stopsFirst: true, takes: "",
  rename: api.renameReplay, stop: api.stopReplay, remove: api.deleteReplay, gone: (r) => `#/captures/${r.captureId}`,
};

/** Renaming is what the head's rename form last did: its error, or what it says it did. */
export interface Renaming {
  err: FormError | null;
  said: string;
}

/**
 * head is the card atop a capture's or a replay's screen: its name and status (a badge in
 * #capture-status or #replay-status), its reason, facts (dt and dd pairs; its owner is added
 * last), and a row of the rename form, stop (Cancel while scheduled) while it is live, extra
 * (the capture's download), and delete, with its files when the box is ticked.
 */
export function head<T extends Item>(k: Kind<T>, it: T, w: Acts, rn: Renaming, facts: Child[], ...extra: Child[]) {
  const rid = `rename${k.ids}`;
  const logs = `delete${k.ids}-logs`;
  const rename = h("form", { class: "inline-form", id: rid, "aria-describedby": describedBy(rid, rn.err), onsubmit: async (ev: Event) => {
    ev.preventDefault();
    try {
      const got = await k.rename(it.id, fields(ev.currentTarget as HTMLFormElement).name);
      rn.err = null;
      rn.said = `Renamed to ${got.name}.`;
      await w.kick();
    } catch (e) {
      if (toSignIn(e)) return;
      rn.err = { field: null, message: message(e) };
      w.render();
    }
  } },
  formError(rid, rn.err),
  field(rid, "Name", nameInput(it.name, k.rule), rn.err),
  h("button", { type: "submit", class: "small" }, "Rename"));
  return h("div", { class: "card", "data-key": "head" },
    h("h1", {}, it.name, " ", h("span", { role: "status", id: `${k.name}-status` }, badge(it.status, cancelled(it)))),
    it.reason ? h("p", { class: "reason" }, it.reason) : null,
    h("dl", { class: "facts" }, ...facts, h("dt", {}, "Owner"), h("dd", {}, it.ownerName ?? it.ownerId)),
    h("p", { class: "status", role: "status" }, rn.said),
    h("div", { class: "row" },
      rename,
      live(it.status) ? h("button", { class: "small", id: `stop${k.ids}`, onclick: () => w.act(() => k.stop(it.id)) },
        it.status === "SCHEDULED" ? "Cancel" : "Stop") : null,
      ...extra,
      h("span", { class: "danger" },
        h("label", { class: "inline" }, h("input", { type: "checkbox", name: "deleteLogs", id: logs }), `also delete its files (${k.files})`),
        h("button", { class: "small danger", id: `delete${k.ids}`, onclick: () => {
          if (!confirm(`Delete ${k.name} ${it.name}${k.takes}${k.stopsFirst && live(it.status) ? " (it is stopped first)" : ""}?`)) return;
          const files = document.querySelector<HTMLInputElement>(`#${logs}`)?.checked ?? false;
          void w.act(() => k.remove(it.id, files), () => (location.hash = k.gone(it)));
        } }, "Delete"))));
}

/**
 * metricsView is the section of metric charts (title names it), once it has started (else
 * before, in words); with none that has points, empty says why.
 */
export function metricsView(title: string, metrics: Metric[], started: boolean, before: string, empty?: string) {
  const none = empty !== undefined && !metrics.some((m) => m.dataPoints.length > 0);
  return [
    h("h2", {}, title),
    h("section", { class: "charts", id: "metrics", "aria-label": title }, ...(!started
      ? [h("p", { class: "empty" }, before)]
      : none ? [h("p", { class: "empty" }, empty)] : metrics.map(metricFigure))),
  ];
}

/** drawMetrics draws each metric's chart into its box in root, over its window (start to end). */
export function drawMetrics(root: HTMLElement, metrics: Metric[], it: Item) {
  const w = { start: seconds(it.start), end: seconds(it.end) };
  for (const m of metrics) {
    const box = root.querySelector<HTMLElement>(`figure[data-metric="${CSS.escape(m.type)}"] .plot`);
    if (box) drawChart(box, metricSeries(m), w);
  }
  return w;
}

/** metricFigure is a metric's chart box (drawn into by drawChart) with its words. */
function metricFigure(m: Metric) {
  return h("figure", { class: "chart", "data-metric": m.type, "data-key": `metric-${m.type}` },
    h("div", { class: "plot", "data-opaque": true, "aria-hidden": "true" }),
    h("figcaption", {}, summary(m)));
}

/** metricSeries is a metric's points as a chart's series (the maximum of each). */
function metricSeries(m: Metric): Series {
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
