/** `/compare?a=<id>&b=<id>`: two executions' parameters, and each step's status, duration and outputs side by side. */
import { callApi } from "../api";
import { parseDefinition } from "../definition";
import { h, replace } from "../dom";
import { duration, seconds, time } from "../format";
import { findExecution } from "../executions";
import type { Page } from "../router";
import { outputsOf, type StepRecord } from "../steps";
import { badge, executionHref, section } from "../ui";
import { listSteps } from "./execution";

interface Side {
  id: string;
  execution: Record<string, string>;
  parameters: Map<string, string>;
  steps: Map<string, StepRecord>;
  order: string[];
}

async function load(id: string): Promise<Side> {
  const arn = await findExecution(id);
  if (!arn) throw new Error(`No execution with the id ${id} was found.`);
  const [execution, parameters, steps, definition] = await Promise.all([
    callApi("DescribePipelineExecution", { PipelineExecutionArn: arn }),
    callApi("ListPipelineParametersForExecution", { PipelineExecutionArn: arn, MaxResults: 100 }),
    listSteps(arn),
    callApi("DescribePipelineDefinitionForExecution", { PipelineExecutionArn: arn }),
  ]);
  return {
    id,
    execution,
    parameters: new Map((parameters.PipelineParameters ?? []).map((p: { Name: string; Value: string }) => [p.Name, p.Value])),
    steps: new Map(steps.map((s) => [s.StepName, s])),
    order: parseDefinition(definition.PipelineDefinition).steps.map((s) => s.name),
  };
}

function outputs(step: StepRecord | undefined): string {
  if (!step) return "—";
  const out = outputsOf(step);
  return Object.keys(out).length ? JSON.stringify(out) : "—";
}

export const comparePage: Page = async (main, params) => {
  document.title = "Compare executions · Pipelines";
  const { a, b } = params;
  if (!a || !b) {
    replace(main, h("h1", {}, "Compare executions"), h("p", {}, "Pick two executions on a pipeline's page (or an execution's Compare section)."));
    return;
  }
  replace(main, h("h1", {}, `Compare ${a} and ${b}`), h("p", { class: "loading" }, "Loading…"));
  const [left, right] = await Promise.all([load(a), load(b)]);
  const head = (first: string) => h("thead", {}, h("tr", {}, h("th", { scope: "col" }, first),
    h("th", { scope: "col" }, h("a", { href: executionHref(a) }, a)), h("th", { scope: "col" }, h("a", { href: executionHref(b) }, b))));
  const names = [...new Set([...left.parameters.keys(), ...right.parameters.keys()])];
  const parameterRows = names.map((name) => {
    const x = left.parameters.get(name) ?? "—";
    const y = right.parameters.get(name) ?? "—";
    return h("tr", { class: x !== y ? "differs" : null }, h("th", { scope: "row" }, name), h("td", {}, x), h("td", {}, y));
  });
  const steps = [...new Set([...left.order, ...right.order])];
  const cell = (side: Side, name: string) => {
    const step = side.steps.get(name);
    return h("td", {}, badge(step?.StepStatus ?? "Not run"), " ", duration(seconds(step?.StartTime, step?.EndTime)),
      h("div", { class: "muted" }, outputs(step)));
  };
  const stepRows = steps.map((name) => {
    const x = left.steps.get(name);
    const y = right.steps.get(name);
    const differs = x?.StepStatus !== y?.StepStatus || outputs(x) !== outputs(y);
    return h("tr", { class: differs ? "differs" : null, "data-step": name }, h("th", { scope: "row" }, name), cell(left, name), cell(right, name));
  });
  replace(
    main,
    h("h1", {}, `Compare ${a} and ${b}`),
    h("table", { id: "compare-summary" }, h("caption", {}, "Executions"), head(""),
      h("tbody", {},
        h("tr", {}, h("th", { scope: "row" }, "Status"), h("td", {}, badge(left.execution.PipelineExecutionStatus)), h("td", {}, badge(right.execution.PipelineExecutionStatus))),
        h("tr", {}, h("th", { scope: "row" }, "Started"), h("td", {}, time(left.execution.CreationTime)), h("td", {}, time(right.execution.CreationTime))),
        h("tr", {}, h("th", { scope: "row" }, "Duration"), h("td", {}, duration(seconds(left.execution.CreationTime, left.execution.LastModifiedTime))), h("td", {}, duration(seconds(right.execution.CreationTime, right.execution.LastModifiedTime)))))),
    section("Parameters", h("table", { id: "compare-parameters" }, h("caption", {}, "Rows that differ are highlighted"), head("Parameter"), h("tbody", {}, parameterRows))),
    section("Steps", h("table", { id: "compare-steps" }, h("caption", {}, "Status, duration and outputs; rows that differ are highlighted"), head("Step"), h("tbody", {}, stepRows))),
  );
};
