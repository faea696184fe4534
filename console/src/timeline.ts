/**
 * The Gantt of an execution: one row per step that started, one bar per attempt (job steps:
 * from the jobs of every attempt), the wait between two attempts (the retry backoff) drawn as a
 * dashed line, all on one time axis from the execution's start.
 */
import { s } from "./dom";
import { duration, toDate } from "./format";
import type { Attempt, StepRecord } from "./steps";

const ROW = 26;
const LABEL = 220;
const WIDTH = 900;

export function timeline(startedAt: unknown, steps: StepRecord[], attempts: Map<string, Attempt[]>, now = Date.now()): SVGSVGElement {
  const started = steps.filter((step) => toDate(step.StartTime)).sort((a, b) => (a.StartTime ?? 0) - (b.StartTime ?? 0));
  const origin = toDate(startedAt)?.getTime() ?? Math.min(...started.map((step) => toDate(step.StartTime)!.getTime()), now);
  const ends = started.map((step) => toDate(step.EndTime)?.getTime() ?? now);
  const span = Math.max(1000, Math.max(origin, ...ends) - origin);
  const x = (ms: number) => LABEL + ((ms - origin) / span) * (WIDTH - LABEL - 10);
  const height = 30 + started.length * ROW;
  const svg = s("svg", { class: "timeline", width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}`, role: "img",
    "aria-label": `Timeline of ${started.length} steps over ${duration(span / 1000)}` });
  for (let i = 0; i <= 4; i++) {
    const at = LABEL + (i / 4) * (WIDTH - LABEL - 10);
    svg.appendChild(s("line", { x1: at, x2: at, y1: 18, y2: height, class: "axis" }));
    svg.appendChild(s("text", { x: at, y: 12, class: "tick", "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" },
      `+${duration((span * i) / 4000)}`));
  }
  started.forEach((step, row) => {
    const y = 24 + row * ROW;
    const stepEnd = toDate(step.EndTime)?.getTime() ?? now;
    const tries = attempts.get(step.StepName) ?? [];
    const g = s("g", { class: "row", "data-step": step.StepName });
    g.appendChild(s("text", { x: 4, y: y + 14, class: "row-label" },
      `${step.StepName.length > 26 ? step.StepName.slice(0, 25) + "…" : step.StepName} (${duration((stepEnd - toDate(step.StartTime)!.getTime()) / 1000)})`));
    if (tries.length) {
      tries.forEach((attempt, i) => {
        const from = attempt.start * 1000;
        const to = attempt.end ? attempt.end * 1000 : now;
        g.appendChild(s("rect", { x: x(from), y: y + 3, width: Math.max(2, x(to) - x(from)), height: ROW - 8, class: `bar status-${attempt.status}` },
          s("title", {}, `${step.StepName} attempt ${i + 1}: ${attempt.status}, ${duration((to - from) / 1000)}`)));
        const next = tries[i + 1];
        if (next && attempt.end) {
          g.appendChild(s("line", { x1: x(to), x2: x(next.start * 1000), y1: y + ROW / 2 - 1, y2: y + ROW / 2 - 1, class: "wait" },
            s("title", {}, `retry backoff: ${duration(next.start - attempt.end)}`)));
        }
      });
    } else {
      const from = toDate(step.StartTime)!.getTime();
      g.appendChild(s("rect", { x: x(from), y: y + 3, width: Math.max(2, x(stepEnd) - x(from)), height: ROW - 8, class: `bar status-${step.StepStatus}` },
        s("title", {}, `${step.StepName}: ${step.StepStatus}${(step.AttemptCount ?? 1) > 1 ? `, ${step.AttemptCount} attempts` : ""}`)));
    }
    svg.appendChild(g);
  });
  return svg;
}
