// #/replays/4: a replay, live while it runs: its capture and target, speed and mode, progress,
// plan, rename, stop, delete, and the target's metrics over its window.
import { api, Capture, Environment, Metric, Replay, ReplayReport } from "../api";
import { h } from "../dom";
import { draw, Screen, Watch } from "../screen";
import { back, screenError, time } from "../ui";
import { drawMetrics, head, metricsView, Renaming, replayKind } from "./detail";
import { progressWords, replayed, speedWords } from "./replays";
import { readReport, ReportView, reportView, reportWant } from "./report";

interface Read {
  r: Replay;
  capture: Capture | null; // null: not readable by the caller (a member of the target only)
  envs: Environment[];
  metrics: Metric[] | null; // null: not read this time (the replay did not change)
  report: ReplayReport | null; // null before the replay starts
}

export const replayScreen: Screen = (root, { id }) => {
  let got: Read | null = null;
  let metrics: Metric[] = [];
  let last = "";
  const rn: Renaming = { err: null, said: "" };
  const rv: ReportView = { sort: "total", want: reportWant, report: null };
  const w = new Watch<Read>(
    async (signal) => {
      const r = await api.replay(id, signal);
      const changed = JSON.stringify(r) !== last;
      const [capture, envs, m, report] = await Promise.all([
        got?.capture && got.capture.id === r.captureId && !changed ? Promise.resolve(got.capture) : api.capture(r.captureId, signal).catch(() => null),
        api.allEnvironments(signal),
        changed && r.start ? api.replayMetrics(id, signal) : Promise.resolve(null),
        r.start ? readReport(id, rv, signal) : Promise.resolve(null),
      ]);
      return { r, capture, envs, metrics: m, report };
    },
    (next) => {
      last = JSON.stringify(next.r);
      got = next;
      if (next.metrics) metrics = next.metrics;
      rv.report = next.report;
    },
    render,
  );

  function render() {
    if (!got) return;
    const { r, capture, envs } = got;
    const target = envs.find((e) => e.id === r.envId);
    const p = r.progress;
    const plan = r.plan;
    draw(root, [
      back(capture ? `#/captures/${capture.id}` : "#/replays", capture ? capture.name : "Replays"),
      screenError(w.error),
      head(replayKind, r, w, rn, [
        h("dt", {}, "Capture"), h("dd", {}, h("a", { href: `#/captures/${r.captureId}` }, capture?.name ?? `capture ${r.captureId}`)),
        h("dt", {}, "Target"), h("dd", { id: "target" }, target ? h("a", { href: `#/environments/${target.id}` }, target.envName) : `environment ${r.envId}`,
          target ? ` (${target.host}:${target.port}, database ${target.dbName})` : ""),
        h("dt", {}, "Speed"), h("dd", {}, speedWords(r.speed)),
        h("dt", {}, "Statements"), h("dd", {}, r.mode === "read-only" ? "read-only: only those that cannot write" : "all of them"),
        r.maxConnections ? h("dt", {}, "Connections") : null, r.maxConnections ? h("dd", {}, `at most ${r.maxConnections.toLocaleString()}`) : null,
        h("dt", {}, "Scheduled"), h("dd", {}, r.scheduledStart ? time(r.scheduledStart) : "at once"),
        h("dt", {}, "Replayed"), h("dd", {}, replayed(r)),
        h("dt", {}, "Progress"), h("dd", {},
          h("progress", { id: "replay-progress", max: Math.max(p.of, 1), value: p.statements, "aria-label": "Statements replayed" }),
          " ", h("span", { id: "progress-words" }, progressWords(r))),
        plan ? h("dt", {}, "Plan") : null,
        plan ? h("dd", { id: "plan" }, `${plan.statements.toLocaleString()} of the ${plan.captured.toLocaleString()} statements captured`,
          plan.captured > plan.statements ? ` (${(plan.captured - plan.statements).toLocaleString()} left out by mode or filters)` : "",
          `, ${plan.sessions.toLocaleString()} sessions in ${plan.shards} shard${plan.shards === 1 ? "" : "s"}; the capture's first statement `, time(plan.first), " replays at ", time(plan.epoch)) : null,
      ]),
      r.start ? reportView(rv, () => void w.kick()) : null,
      ...metricsView("The target's metrics", metrics, !!r.start, "Metrics appear once the replay starts.",
        "No metrics for this target (CloudWatch has them for RDS targets)."),
    ]);
    drawMetrics(root, metrics, r);
  }

  return w.start(root);
};
