/** `/`: every pipeline with its latest execution, last run and schedules. */
import { callApi, callScheduler, listAll } from "../api";
import { h, replace } from "../dom";
import { executionId, time } from "../format";
import type { Page } from "../router";
import { badge, errorBox, executionHref, pipelineHref, table } from "../ui";

interface PipelineSummary {
  PipelineArn: string;
  PipelineName: string;
  PipelineDisplayName?: string;
  LastExecutionTime?: number;
}

interface ScheduleSummary {
  Name: string;
  GroupName?: string;
  State?: string;
  Target?: { Arn?: string };
}

/** Schedule descriptions ("rate(1 day) (ENABLED)") per pipeline ARN; empty when the Scheduler API is not there. */
export async function schedulesByPipeline(): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  let summaries: ScheduleSummary[] = [];
  try {
    summaries = (await callScheduler<{ Schedules: ScheduleSummary[] }>("GET", "/schedules?MaxResults=100")).Schedules ?? [];
  } catch {
    return found;
  }
  await Promise.all(
    summaries.map(async (summary) => {
      const target = summary.Target?.Arn;
      if (!target) return;
      let text = summary.Name;
      try {
        const group = encodeURIComponent(summary.GroupName ?? "default");
        const full = await callScheduler<{ ScheduleExpression?: string; State?: string }>(
          "GET", `/schedules/${encodeURIComponent(summary.Name)}?groupName=${group}`);
        text = `${summary.Name}: ${full.ScheduleExpression ?? "?"} (${full.State ?? summary.State ?? "?"})`;
      } catch {
        /* the summary's name is still worth showing */
      }
      found.set(target.toLowerCase(), [...(found.get(target.toLowerCase()) ?? []), text]);
    }),
  );
  return found;
}

export const pipelinesPage: Page = async (main) => {
  document.title = "Pipelines · SageMaker Pipelines";
  const body = h("div", {}, h("p", { class: "loading" }, "Loading pipelines…"));
  replace(main, h("h1", {}, "Pipelines"), body);
  let pipelines: PipelineSummary[];
  try {
    pipelines = await listAll<PipelineSummary>("ListPipelines", { MaxResults: 100, SortBy: "Name", SortOrder: "Ascending" }, "PipelineSummaries");
  } catch (error) {
    replace(body, errorBox(error, "Could not list pipelines"));
    return;
  }
  if (!pipelines.length) {
    replace(body, h("p", {}, "No pipelines yet. Create one with the SageMaker SDK, boto3 or the CLI."));
    return;
  }
  const [latest, schedules] = await Promise.all([
    Promise.all(
      pipelines.map((p) =>
        callApi("ListPipelineExecutions", { PipelineName: p.PipelineName, MaxResults: 1, SortBy: "CreationTime", SortOrder: "Descending" })
          .then((r) => r.PipelineExecutionSummaries?.[0])
          .catch(() => undefined),
      ),
    ),
    schedulesByPipeline(),
  ]);
  const rows = pipelines.map((p, i) => {
    const run = latest[i];
    return [
      h("a", { href: pipelineHref(p.PipelineName) }, p.PipelineName),
      run ? h("span", {}, badge(run.PipelineExecutionStatus), " ",
        h("a", { href: executionHref(executionId(run.PipelineExecutionArn)) }, executionId(run.PipelineExecutionArn))) : "never run",
      run ? time(run.StartTime) : "—",
      (schedules.get(p.PipelineArn.toLowerCase()) ?? []).join("; ") || "—",
    ];
  });
  replace(body, table(`${pipelines.length} pipeline${pipelines.length === 1 ? "" : "s"}`,
    ["Name", "Latest execution", "Last run", "Schedules"], rows, { class: "list", id: "pipelines" }));
};
