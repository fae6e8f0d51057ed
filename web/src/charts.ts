// Time-series charts (uPlot): a capture's metrics and its statements per second, with the
// capture's window marked.
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

/**
 * chart draws one series into target: times in unix seconds, values beside them. It returns
 * false, drawing nothing, when there are no points (the caller says so in words).
 */
export function chart(target: HTMLElement, title: string, unit: string, times: number[], values: number[], w: Window): boolean {
  target.replaceChildren();
  if (times.length === 0) return false;
  // The x range takes in the window's marks, so that they show even past the last point.
  const xs = [...times, w.start, w.end].filter((t): t is number => t !== undefined);
  const opts: uPlot.Options = {
    title,
    width: Math.max(target.clientWidth, 280),
    height: 180,
    scales: { x: { time: true, range: [Math.min(...xs), Math.max(...xs)] } },
    axes: [{}, { label: unit, size: 60 }],
    series: [{}, { label: unit, stroke: "#1f6fb4", fill: "rgba(31,111,180,0.12)", width: 2, points: { show: times.length < 30 } }],
    legend: { show: false },
    plugins: [marks(w)],
  };
  charts.add(new uPlot(opts, [times, values], target));
  return true;
}

export const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);
