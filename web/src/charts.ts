// Time-series charts (uPlot): a capture's metrics and its statements per second, with the
// capture's window marked. uPlot sizes its elements through the CSSOM (element.style), which
// the content security policy allows; nothing here writes a style attribute.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const charts = new Set<uPlot>();

// Charts follow their container's width (1280 px desktops and 390 px phones alike).
window.addEventListener("resize", () => {
  for (const u of charts) {
    const parent = u.root.parentElement;
    if (!parent || !parent.isConnected) {
      charts.delete(u);
      u.destroy();
      continue;
    }
    u.setSize({ width: parent.clientWidth, height: u.height });
  }
});

/** Window marks the capture's start and end (unix seconds), when known. */
export interface Window {
  start?: number;
  end?: number;
}

function marks(w: Window): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#b4541f";
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          for (const t of [w.start, w.end]) {
            if (t === undefined) continue;
            const x = u.valToPos(t, "x", true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** Series is one chart's data: times in unix seconds, values beside them. */
export interface Series {
  title: string;
  unit: string;
  times: number[];
  values: number[];
}

// What each chart's box shows now, so that a refresh redraws only a chart whose data changed.
const drawn = new WeakMap<HTMLElement, { sig: string; u: uPlot | null }>();

/**
 * drawChart draws series into target, with w's marks, unless target shows it already; no
 * points draw nothing (the chart's caption says so in words, and is its text alternative).
 */
export function drawChart(target: HTMLElement, series: Series, w: Window) {
  const sig = JSON.stringify([series, w]);
  const was = drawn.get(target);
  if (was?.sig === sig) return;
  if (was?.u) {
    charts.delete(was.u);
    was.u.destroy();
  }
  target.replaceChildren();
  if (series.times.length === 0) {
    drawn.set(target, { sig, u: null });
    return;
  }
  // The x range takes in the window's marks, so that they show even past the last point.
  const xs = [...series.times, w.start, w.end].filter((t): t is number => t !== undefined);
  const opts: uPlot.Options = {
    title: series.title,
    width: Math.max(target.clientWidth, 280),
    height: 180,
    scales: { x: { time: true, range: [Math.min(...xs), Math.max(...xs)] } },
    axes: [{}, { label: series.unit, size: 60 }],
    series: [{}, { label: series.unit, stroke: "#1f6fb4", fill: "rgba(31,111,180,0.12)", width: 2, points: { show: series.times.length < 30 } }],
    legend: { show: false },
    plugins: [marks(w)],
  };
  const u = new uPlot(opts, [series.times, series.values], target);
  charts.add(u);
  drawn.set(target, { sig, u });
}

export const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);

/** Line is one of an overlay's series: its label, colour, and points (x in seconds from its own start). */
export interface Line {
  label: string;
  stroke: string;
  xs: number[];
  ys: number[];
}

/**
 * drawOverlay draws lines on one axis of seconds (each relative to its own start, so two runs
 * line up) into target, unless target shows them already; no points draw nothing.
 */
export function drawOverlay(target: HTMLElement, title: string, unit: string, lines: Line[]) {
  const sig = JSON.stringify([title, unit, lines]);
  const was = drawn.get(target);
  if (was?.sig === sig) return;
  if (was?.u) {
    charts.delete(was.u);
    was.u.destroy();
  }
  target.replaceChildren();
  const shown = lines.filter((l) => l.xs.length > 0);
  if (shown.length === 0) {
    drawn.set(target, { sig, u: null });
    return;
  }
  const data = uPlot.join(shown.map((l) => [l.xs, l.ys] as uPlot.AlignedData));
  const opts: uPlot.Options = {
    title,
    width: Math.max(target.clientWidth, 280),
    height: 200,
    scales: { x: { time: false } },
    axes: [{ label: "seconds from its start" }, { label: unit, size: 60 }],
    series: [{ label: "s" }, ...shown.map((l) => ({ label: l.label, stroke: l.stroke, width: 2, spanGaps: true }))],
    legend: { show: false }, // the figure's caption names the lines, in words
  };
  const u = new uPlot(opts, data, target);
  charts.add(u);
  drawn.set(target, { sig, u });
}
