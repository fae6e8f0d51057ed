// #/replays/4: a replay, live while it runs: its capture and target, speed and mode, progress,
// plan, rename, stop, delete, and the target's metrics over its window.
import { api, Capture, Environment, live, Metric, Replay, ReplayReport, replayRule } from "../api";
import { drawChart, seconds } from "../charts";
import { fields, h } from "../dom";
import { Poller } from "../poller";
import { draw, Screen, toSignIn } from "../screen";
import { back, badge, cancelled, describedBy, field, FormError, formError, message, nameInput, screenError, time } from "../ui";
import { metricFigure, metricSeries } from "./capture";
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
  let error: string | null = null;
  let renameErr: FormError | null = null;
  let status = "";
  const rv: ReportView = { sort: "total", want: reportWant, report: null };
  const poller = new Poller<Read>(
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
    if (!got) return;
    const { r, capture, envs } = got;
    const target = envs.find((e) => e.id === r.envId);
    const p = r.progress;
    const gone = cancelled(r);
    const rid = "rename-replay";
    const rename = h("form", { class: "inline-form", id: rid, "aria-describedby": describedBy(rid, renameErr), onsubmit: async (ev: Event) => {
      ev.preventDefault();
      try {
        const named = await api.renameReplay(r.id, fields(ev.currentTarget as HTMLFormElement).name);
        renameErr = null;
        status = `Renamed to ${named.name}.`;
        await poller.kick();
      } catch (e) {
        if (toSignIn(e)) return;
        renameErr = { field: null, message: message(e) };
        render();
      }
    } },
    formError(rid, renameErr),
    field(rid, "Name", nameInput(r.name, replayRule), renameErr),
    h("button", { type: "submit", class: "small" }, "Rename"));
    const plan = r.plan;
    draw(root, [
      back(capture ? `#/captures/${capture.id}` : "#/replays", capture ? capture.name : "Replays"),
      screenError(error),
      h("div", { class: "card", "data-key": "head" },
        h("h1", {}, r.name, " ", h("span", { role: "status", id: "replay-status" }, badge(r.status, gone))),
        r.reason ? h("p", { class: "reason" }, r.reason) : null,
        h("dl", { class: "facts" },
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
          h("dt", {}, "Owner"), h("dd", {}, r.ownerName ?? r.ownerId)),
        h("p", { class: "status", role: "status" }, status),
        h("div", { class: "row" },
          rename,
          live(r.status) ? h("button", { class: "small", id: "stop-replay", onclick: () => act(() => api.stopReplay(r.id)) }, r.status === "SCHEDULED" ? "Cancel" : "Stop") : null,
          h("span", { class: "danger" },
            h("label", { class: "inline" }, h("input", { type: "checkbox", name: "deleteLogs", id: "delete-replay-logs" }), "also delete its files (plan, shards and outcomes)"),
            h("button", { class: "small danger", id: "delete-replay", onclick: () => {
              if (!confirm(`Delete replay ${r.name}${live(r.status) ? " (it is stopped first)" : ""}?`)) return;
              const logs = root.querySelector<HTMLInputElement>("#delete-replay-logs")?.checked ?? false;
              void act(() => api.deleteReplay(r.id, logs), () => (location.hash = `#/captures/${r.captureId}`));
            } }, "Delete")))),
      r.start ? reportView(rv, () => void poller.kick()) : null,
      h("h2", {}, "The target's metrics"),
      h("section", { class: "charts", id: "metrics", "aria-label": "The target's metrics" }, ...(r.start
        ? (metrics.some((m) => m.dataPoints.length > 0) ? metrics.map(metricFigure) : [h("p", { class: "empty" }, "No metrics for this target (CloudWatch has them for RDS targets).")])
        : [h("p", { class: "empty" }, "Metrics appear once the replay starts.")])),
    ]);
    const w = { start: seconds(r.start), end: seconds(r.end) };
    for (const m of metrics) {
      const box = root.querySelector<HTMLElement>(`figure[data-metric="${CSS.escape(m.type)}"] .plot`);
      if (box) drawChart(box, metricSeries(m), w);
    }
  }

  root.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  void poller.kick();
  return () => poller.stop();
};
