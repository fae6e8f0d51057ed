// #/captures/7: a capture, live while it records: its facts, rename, stop, download, delete,
// its metric charts and its digest.
import { api, Capture, Digest, Environment, Metric, Replay } from "../api";
import { drawChart } from "../charts";
import { h } from "../dom";
import { draw, Screen, Watch } from "../screen";
import { back, cancelled, fmtBytes, screenError, time } from "../ui";
import { captureKind, drawMetrics, head, metricsView, Renaming } from "./detail";
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
  const rn: Renaming = { err: null, said: "" };
  const dv: DigestView = { q: { sort: "count", user: "", database: "" }, want: digestWant, digest: null, next: null };
  let replays: Replay[] = [];
  let envs: Environment[] = [];
  const rf: ReplayFormState = { err: null, at: false, target: "" };
  const cf: CompareFormState = { err: null };

  const w = new Watch<Read>(
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
    },
    render,
  );

  function render() {
    if (!c) return;
    const cap = c;
    draw(root, [
      back("#/captures", "Captures"),
      screenError(w.error),
      captureHead(cap),
      h("h2", {}, "Replays"),
      replays.length
        ? replaysTable(replays, new Map(envs.map((e) => [e.id, e.envName])), (p) => void w.act(() => p), new Map([[cap.id, cap.name]]))
        : h("p", { class: "hint", id: "no-replays" }, cap.status === "DONE" && cap.start ? "Not replayed yet." : "A capture is replayed once it is done."),
      replays.length >= 2 ? compareForm(replays, cf, render) : null,
      cap.status === "DONE" && cap.start && envs.length
        ? replayForm(cap, envs, rf, render, (r) => (location.hash = `#/replays/${r.id}`))
        : null,
      ...metricsView("Metrics", metrics, !!cap.start, "Metrics appear once the capture starts recording."),
      h("h2", {}, "Statements"),
      digestView(cap, dv, w.soon, () => void w.kick()),
    ]);
    const win = drawMetrics(root, metrics, cap);
    const tl = root.querySelector<HTMLElement>("#timeline .plot");
    const d = dv.digest;
    if (tl && d) {
      const b = d.timeline.bucketSeconds;
      drawChart(tl, { title: "Statements per second", unit: "stmt/s", times: d.timeline.points.map((p) => Date.parse(p.time) / 1000), values: d.timeline.points.map((p) => p.statements / b) }, win);
    }
  }

  function captureHead(cap: Capture) {
    const gone = cancelled(cap);
    return head(captureKind, cap, w, rn, [
      h("dt", {}, "Scheduled"), h("dd", {}, cap.scheduledStart ? time(cap.scheduledStart) : "at once", " → ", cap.scheduledEnd ? time(cap.scheduledEnd) : "until stopped"),
      h("dt", {}, "Recorded"), h("dd", {}, gone ? "never: cancelled before it started" : h("span", {}, time(cap.start), " → ", time(cap.end))),
      h("dt", {}, "Workload"), h("dd", { id: "workload" }, cap.workload
        ? `${cap.workload.statements.toLocaleString()} statements${cap.workload.bytes ? ", " + fmtBytes(cap.workload.bytes) : ""}`
        : "nothing yet"),
    ],
    h("button", { class: "small", id: "download", disabled: !cap.workload?.bytes, onclick: () => w.act(async () => {
      const blob = await api.workload(cap.id);
      const a = h("a", { href: URL.createObjectURL(blob), download: `capture-${cap.id}.jsonl.gz` });
      a.click();
      URL.revokeObjectURL(a.href);
    }) }, "Download workload"));
  }

  return w.start(root);
};
