/** Times, durations and statuses as text (absolute timestamps: relative-only times hide when a run happened). */
export function time(value: unknown): string {
  const date = toDate(value);
  if (!date) return "—";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function toDate(value: unknown): Date | null {
  if (value === null || value === undefined || value === "") return null;
  // AWS JSON 1.1 timestamps are epoch seconds (with a fraction)
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? null : date;
}

export function seconds(start: unknown, end: unknown, now = Date.now()): number | null {
  const from = toDate(start);
  if (!from) return null;
  const to = toDate(end)?.getTime() ?? now;
  return Math.max(0, (to - from.getTime()) / 1000);
}

export function duration(value: number | null): string {
  if (value === null) return "—";
  if (value < 60) return `${value.toFixed(value < 10 ? 1 : 0)} s`;
  const m = Math.floor(value / 60);
  if (m < 60) return `${m} min ${Math.round(value % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The 12-character execution id at the end of an execution ARN. */
export function executionId(arn: string): string {
  return arn.split("/").pop() ?? arn;
}

export function pipelineName(arn: string): string {
  const parts = arn.split(":pipeline/");
  return (parts[1] ?? arn).split("/")[0];
}

export const TERMINAL = new Set(["Succeeded", "Failed", "Stopped"]);

/** The CSS class of a status word: "Not started" -> "status-NotStarted". */
export function statusClass(word: string): string {
  return "status-" + word.replace(/\s+(\w)/g, (_m, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, "");
}
