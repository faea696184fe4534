/** `/pipelines/<name>`: DAG, parameters and the Start form, versions and their diff, schedules, executions. */
import { diffLines } from "diff";
import { ApiError, callApi, listAll } from "../api";
import { DagView, type NodeState } from "../dag";
import { parseDefinition, type Definition, type ParameterDef } from "../definition";
import { h, replace, replaceKeepingFocus } from "../dom";
import { executionId, time } from "../format";
import { navigate, type Page } from "../router";
import { remember } from "../executions";
import { badge, errorBox, executionHref, pause, section, table } from "../ui";
import { schedulesByPipeline } from "./pipelines";

const STATUSES = ["Executing", "Stopping", "Stopped", "Failed", "Succeeded"];

const REFRESH_MS = 3000;

export const pipelinePage: Page = async (main, params, signal) => {
  const name = params.name;
  document.title = `${name} · Pipelines`;
  replace(main, h("h1", {}, name), h("p", { class: "loading" }, "Loading…"));
  const described = await callApi("DescribePipeline", { PipelineName: name });
  const definition = parseDefinition(described.PipelineDefinition);
  replace(main, h("h1", {}, name), h("p", { class: "loading" }, `Laying out ${definition.steps.length} steps…`));
  const dag = await DagView.create(definition, { onActivate: () => undefined });
  dag.update(new Map(definition.steps.map((step): [string, NodeState] => [step.name, { status: "" }])));
  const executions = h("div", {}, h("p", { class: "loading" }, "Loading executions…"));
  const versions = h("div", {}, h("p", { class: "loading" }, "Loading versions…"));
  const schedules = h("div", {}, h("p", { class: "loading" }, "…"));
  replace(
    main,
    h("h1", {}, described.PipelineDisplayName || name),
    described.PipelineDescription ? h("p", { class: "description" }, described.PipelineDescription) : null,
    h("dl", { class: "facts" },
      h("dt", {}, "ARN"), h("dd", {}, described.PipelineArn),
      h("dt", {}, "Status"), h("dd", {}, described.PipelineStatus ?? "—"),
      h("dt", {}, "Last modified"), h("dd", {}, time(described.LastModifiedTime)),
      h("dt", {}, "Version"), h("dd", {}, String(described.PipelineVersionId ?? "—"))),
    section("Start an execution", startForm(name, definition.parameters)),
    section(`Graph (${definition.steps.length} steps)`, h("div", { class: "graph" }, dag.svg)),
    section("Parameters", parameterTable(definition.parameters)),
    section("Executions", executions),
    section("Versions", versions),
    section("Schedules", schedules),
  );
  await Promise.all([
    fillExecutions(executions, name, params.status ?? "", signal),
    fillVersions(versions, name),
    schedulesByPipeline().then((found) => {
      const list = found.get(String(described.PipelineArn).toLowerCase()) ?? [];
      replace(schedules, list.length ? h("ul", {}, list.map((text) => h("li", {}, text))) : h("p", { class: "muted" }, "No schedules."));
    }),
  ]);
};

function parameterTable(parameters: ParameterDef[]): HTMLElement {
  if (!parameters.length) return h("p", { class: "muted" }, "This pipeline has no parameters.");
  return table(`${parameters.length} parameters`, ["Name", "Type", "Default", "Allowed values"],
    parameters.map((p) => [p.Name, p.Type, p.DefaultValue === undefined ? "—" : String(p.DefaultValue), p.EnumValues?.join(", ") ?? "—"]));
}

/** The problem with a value for a parameter, as StartPipelineExecution would report it, or null. */
export function invalidValue(parameter: ParameterDef, value: string): string | null {
  if (value.length > 1024) return "at most 1024 characters";
  switch (parameter.Type) {
    case "Integer":
      return /^[+-]?\d+$/.test(value.trim()) ? null : "must be a whole number";
    case "Float":
      return value.trim() !== "" && Number.isFinite(Number(value)) ? null : "must be a number";
    case "Boolean":
      return value === "true" || value === "false" ? null : "must be true or false";
    default:
      if (parameter.EnumValues && !parameter.EnumValues.includes(value)) return `must be one of ${parameter.EnumValues.join(", ")}`;
      return null;
  }
}

function startForm(pipeline: string, parameters: ParameterDef[]): HTMLElement {
  const status = h("div", { role: "status", "aria-live": "polite" });
  const fields: { parameter: ParameterDef; read: () => string; problem: HTMLElement }[] = [];
  const rows = parameters.map((parameter) => {
    const id = `param-${parameter.Name}`;
    const problem = h("span", { class: "invalid", id: `${id}-problem` });
    const fallback = parameter.DefaultValue === undefined ? "" : String(parameter.DefaultValue);
    let control: HTMLInputElement | HTMLSelectElement;
    if (parameter.Type === "Boolean") {
      control = h("input", { type: "checkbox", id, name: parameter.Name, checked: fallback === "true" || parameter.DefaultValue === true });
      fields.push({ parameter, read: () => String((control as HTMLInputElement).checked), problem });
    } else if (parameter.EnumValues?.length) {
      control = h("select", { id, name: parameter.Name }, parameter.EnumValues.map((v) => h("option", { value: v }, v)));
      control.value = fallback || parameter.EnumValues[0];
      fields.push({ parameter, read: () => control.value, problem });
    } else {
      const numeric = parameter.Type === "Integer" || parameter.Type === "Float";
      control = h("input", { type: "text", id, name: parameter.Name, value: fallback, inputmode: numeric ? (parameter.Type === "Integer" ? "numeric" : "decimal") : null, "aria-describedby": `${id}-problem` });
      fields.push({ parameter, read: () => control.value, problem });
    }
    return [h("label", { for: id }, parameter.Name), control, h("span", {}, h("span", { class: "hint" }, parameter.Type), " ", problem)];
  });
  const displayName = h("input", { type: "text", id: "execution-display-name", name: "PipelineExecutionDisplayName", placeholder: "optional" });
  const displayProblem = h("span", { class: "invalid" });
  const button = h("button", { type: "submit", class: "primary" }, "Start");
  const form = h("form", { class: "params", "aria-label": "Start an execution", novalidate: true },
    rows.flat(),
    h("label", { for: "execution-display-name" }, "Display name"), displayName, displayProblem,
    h("div", { class: "actions" }, button, " ", status));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    let ok = true;
    const values: { Name: string; Value: string }[] = [];
    for (const field of fields) {
      const value = field.read();
      const problem = invalidValue(field.parameter, value);
      field.problem.textContent = problem ? `${field.parameter.Name} ${problem}` : "";
      if (problem) ok = false;
      else values.push({ Name: field.parameter.Name, Value: field.parameter.Type === "Integer" || field.parameter.Type === "Float" ? value.trim() : value });
    }
    const display = displayName.value.trim();
    const displayBad = display && !/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$/.test(display);
    displayProblem.textContent = displayBad ? "letters, digits and single hyphens, at most 82" : "";
    if (!ok || displayBad) {
      replace(status, "Fix the values marked above.");
      return;
    }
    button.disabled = true;
    replace(status, "Starting…");
    callApi("StartPipelineExecution", {
      PipelineName: pipeline,
      PipelineParameters: values,
      ClientRequestToken: crypto.randomUUID(),
      ...(display ? { PipelineExecutionDisplayName: display } : {}),
    })
      .then((started) => {
        remember(started.PipelineExecutionArn);
        navigate(executionHref(executionId(started.PipelineExecutionArn)));
      })
      .catch((error) => {
        button.disabled = false;
        replace(status, errorBox(error, "The execution was not started"));
      });
  });
  return form;
}

/** The executions table, refreshed every 3 s while the page is open (redrawn only on change). */
async function fillExecutions(target: HTMLElement, pipeline: string, status: string, signal: AbortSignal): Promise<void> {
  const load = () => listAll<Record<string, string>>("ListPipelineExecutions", { PipelineName: pipeline, SortBy: "CreationTime", SortOrder: "Descending", MaxResults: 100 }, "PipelineExecutionSummaries", 500);
  let summaries: Record<string, string>[];
  try {
    summaries = await load();
  } catch (error) {
    replace(target, errorBox(error, "Could not list executions"));
    return;
  }
  summaries.forEach((s) => remember(s.PipelineExecutionArn));
  const filter = h("select", { id: "status-filter", name: "status" }, h("option", { value: "" }, "All"), STATUSES.map((s) => h("option", { value: s }, s)));
  filter.value = status;
  filter.addEventListener("change", () => {
    const query = filter.value ? `?status=${encodeURIComponent(filter.value)}` : "";
    history.replaceState(null, "", window.location.pathname + query);
    draw();
  });
  const picked: string[] = [];
  const compare = h("button", { type: "button", disabled: true }, "Compare selected");
  compare.addEventListener("click", () => navigate(`/compare?a=${encodeURIComponent(picked[0])}&b=${encodeURIComponent(picked[1])}`));
  const list = h("div", { id: "executions-list" });
  const draw = () => {
    const shown = summaries.filter((s) => !filter.value || s.PipelineExecutionStatus === filter.value);
    if (!shown.length) {
      replaceKeepingFocus(list, h("p", { class: "muted" }, filter.value ? `No ${filter.value} executions.` : "No executions yet."));
      return;
    }
    replaceKeepingFocus(list, table(`${shown.length} executions`, ["Compare", "Execution", "Status", "Started", "Last modified"],
      shown.map((s) => {
        const id = executionId(s.PipelineExecutionArn);
        const box = h("input", { type: "checkbox", id: `pick-${id}`, "aria-label": `Compare ${id}`, checked: picked.includes(id) });
        box.addEventListener("change", () => {
          if (box.checked) picked.push(id);
          else picked.splice(picked.indexOf(id), 1);
          while (picked.length > 2) picked.shift();
          compare.disabled = picked.length !== 2;
          draw();
        });
        const shownName = s.PipelineExecutionDisplayName && s.PipelineExecutionDisplayName !== id ? `${s.PipelineExecutionDisplayName} (${id})` : id;
        return [box, h("a", { href: executionHref(id), id: `execution-link-${id}` }, shownName),
          badge(s.PipelineExecutionStatus), time(s.StartTime), time(s.LastModifiedTime ?? s.StartTime)];
      }), { id: "executions" }));
  };
  draw();
  replace(target, h("div", { class: "toolbar" }, h("label", { for: "status-filter" }, "Status"), filter, compare), list);
  void (async () => {
    let seen = JSON.stringify(summaries);
    while (await pause(REFRESH_MS, signal)) {
      try {
        const fresh = await load();
        const now = JSON.stringify(fresh);
        if (now === seen || signal.aborted) continue;
        seen = now;
        summaries = fresh;
        summaries.forEach((s) => remember(s.PipelineExecutionArn));
        draw();
      } catch {
        /* keep the last list; the next refresh tries again */
      }
    }
  })();
}

async function fillVersions(target: HTMLElement, pipeline: string): Promise<void> {
  let versions: Record<string, unknown>[];
  try {
    versions = await listAll("ListPipelineVersions", { PipelineName: pipeline, MaxResults: 100 }, "PipelineVersionSummaries", 500);
  } catch (error) {
    replace(target, errorBox(error, "Could not list versions"));
    return;
  }
  const ids = versions.map((v) => String(v.PipelineVersionId));
  const rows = versions.map((v) => [String(v.PipelineVersionId), String(v.PipelineVersionDisplayName ?? "—"), time(v.CreationTime), String(v.LastExecutionPipelineExecutionArn ? executionId(String(v.LastExecutionPipelineExecutionArn)) : "—")]);
  const pick = (id: string, label: string, initial: string) => {
    const select = h("select", { id, name: id }, ids.map((v) => h("option", { value: v }, `version ${v}`)));
    select.value = initial;
    return [h("label", { for: id }, label), select] as const;
  };
  const [fromLabel, from] = pick("diff-from", "From", ids[Math.min(1, ids.length - 1)] ?? "");
  const [toLabel, to] = pick("diff-to", "To", ids[0] ?? "");
  const out = h("div", { class: "diff", "aria-live": "polite" });
  const button = h("button", { type: "button" }, "Show diff");
  button.addEventListener("click", () => void showDiff(pipeline, from.value, to.value, out));
  replace(target, table(`${versions.length} versions`, ["Version", "Display name", "Created", "Last execution"], rows, { id: "versions" }),
    ids.length > 1 ? h("div", { class: "toolbar" }, fromLabel, from, toLabel, to, button) : null, out);
}

async function definitionOf(pipeline: string, version: string): Promise<string> {
  const described = await callApi("DescribePipeline", { PipelineName: pipeline, PipelineVersionId: Number(version) });
  return JSON.stringify(JSON.parse(described.PipelineDefinition), null, 2) + "\n";
}

async function showDiff(pipeline: string, from: string, to: string, out: HTMLElement): Promise<void> {
  replace(out, h("p", { class: "loading" }, "Loading…"));
  try {
    const [a, b] = await Promise.all([definitionOf(pipeline, from), definitionOf(pipeline, to)]);
    const parts = diffLines(a, b);
    if (parts.every((p) => !p.added && !p.removed)) {
      replace(out, h("p", {}, `Versions ${from} and ${to} have the same definition.`));
      return;
    }
    replace(out, h("h3", {}, `Definition changes from version ${from} to ${to}`),
      h("pre", { class: "diff" }, parts.map((part) => {
        const lines = part.value.replace(/\n$/, "").split("\n");
        if (part.added) return h("ins", {}, lines.map((l) => `+ ${l}\n`).join(""));
        if (part.removed) return h("del", {}, lines.map((l) => `- ${l}\n`).join(""));
        // unchanged context: at most 3 lines each side
        const kept = lines.length > 7 ? [...lines.slice(0, 3), `… ${lines.length - 6} unchanged lines …`, ...lines.slice(-3)] : lines;
        return h("span", {}, kept.map((l) => `  ${l}\n`).join(""));
      })));
  } catch (error) {
    replace(out, errorBox(error instanceof ApiError ? error : String(error), "Could not load the versions"));
  }
}

export type { Definition };
