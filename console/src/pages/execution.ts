/**
 * `/executions/<id>`: the live DAG, the step panel, the timeline, Stop / Retry / Run selected
 * steps, and a way to compare. Polls the public API every second while the execution runs
 * (docs/console.md, "Live updates"), then stops.
 */
import { callApi, callLogs } from "../api";
import { DagView, type NodeState } from "../dag";
import { parseDefinition, type Definition, type StepDef } from "../definition";
import { h, json, replace, replaceKeepingFocus } from "../dom";
import { duration, executionId, pipelineName, seconds, TERMINAL, time } from "../format";
import { findExecution, remember } from "../executions";
import { navigate, type Page } from "../router";
import { attemptsOf, jobOf, outputsOf, sourceId, type Attempt, type StepRecord } from "../steps";
import { timeline } from "../timeline";
import { badge, errorBox, executionHref, pause, pipelineHref, section, table } from "../ui";

const POLL_MS = 1000; // every 5 s instead while the tab is hidden or the API does not answer

interface Snapshot {
  execution: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  steps: StepRecord[];
}

async function snapshot(arn: string): Promise<Snapshot> {
  const [execution, steps] = await Promise.all([
    callApi("DescribePipelineExecution", { PipelineExecutionArn: arn }),
    listSteps(arn),
  ]);
  return { execution, steps };
}

export async function listSteps(arn: string): Promise<StepRecord[]> {
  const steps: StepRecord[] = [];
  let token: string | undefined;
  do {
    const page = await callApi("ListPipelineExecutionSteps", { PipelineExecutionArn: arn, MaxResults: 100, SortOrder: "Ascending", ...(token ? { NextToken: token } : {}) });
    steps.push(...(page.PipelineExecutionSteps ?? []));
    token = page.NextToken;
  } while (token);
  return steps;
}

/** Steps in a condition branch that was not taken, and the steps only they lead to. */
export function notTaken(definition: Definition, steps: Map<string, StepRecord>): Set<string> {
  const skipped = new Set<string>();
  const outcome = (name: string) => String(steps.get(name)?.Metadata?.Condition?.Outcome ?? "");
  for (const step of definition.steps) {
    if (!step.branchOf || steps.has(step.name)) continue;
    const result = outcome(step.branchOf.condition);
    if ((result === "True" && step.branchOf.branch === "else") || (result === "False" && step.branchOf.branch === "if")) skipped.add(step.name);
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const step of definition.steps) {
      if (skipped.has(step.name) || steps.has(step.name)) continue;
      const parents = definition.edges.filter((e) => e.to === step.name).map((e) => e.from);
      if (parents.length && parents.every((p) => skipped.has(p))) {
        skipped.add(step.name);
        grew = true;
      }
    }
  }
  return skipped;
}

export const executionPage: Page = async (main, params, signal) => {
  const id = params.id;
  document.title = `Execution ${id} · Pipelines`;
  replace(main, h("h1", {}, `Execution ${id}`), h("p", { class: "loading" }, "Finding the execution…"));
  const arn = await findExecution(id);
  if (!arn) {
    replace(main, h("h1", {}, `Execution ${id}`), h("p", { role: "alert" }, `No execution with the id ${id} was found in any pipeline.`));
    return;
  }
  remember(arn);
  const [definitionText, parameters, first] = await Promise.all([
    callApi("DescribePipelineDefinitionForExecution", { PipelineExecutionArn: arn }),
    callApi("ListPipelineParametersForExecution", { PipelineExecutionArn: arn, MaxResults: 100 }),
    snapshot(arn),
  ]);
  const definition = parseDefinition(definitionText.PipelineDefinition);
  const pipeline = pipelineName(arn);
  const parameterList: { Name: string; Value: string }[] = parameters.PipelineParameters ?? [];
  replace(main, h("h1", {}, `Execution ${id}`), h("p", { class: "loading" }, `Laying out ${definition.steps.length} steps…`));
  let view: ExecutionView | null = null;
  const dag = await DagView.create(definition, {
    onActivate: (step) => view?.activate(step),
    hrefFor: (source) => executionHref(source),
  });
  if (signal.aborted) return;
  view = new ExecutionView(main, arn, pipeline, definition, parameterList, signal, dag);
  view.show(first);
  await view.follow();
};

class ExecutionView {
  private readonly header = h("div");
  private readonly actions = h("div", { class: "toolbar" });
  private readonly actionStatus = h("div", { role: "status", "aria-live": "polite" });
  private readonly stepsTable = h("div");
  private readonly timelineBox = h("div", { class: "scroll" });
  private readonly panel = h("aside", { class: "panel", "aria-label": "Step details", hidden: true });
  private readonly layout = h("div", { class: "layout" });
  private readonly selected = new Set<string>();
  private readonly selectMode = h("input", { type: "checkbox", id: "select-mode" });
  private readonly attempts = new Map<string, Attempt[]>();
  private readonly attemptKeys = new Map<string, string>();
  private current: Snapshot | null = null;
  private openStep: string | null = null;
  private panelView: StepPanel | null = null;
  private wake: (() => void) | null = null;
  private signature = "";
  private failures = 0;

  constructor(
    main: HTMLElement,
    private readonly arn: string,
    private readonly pipeline: string,
    private readonly definition: Definition,
    private readonly parameters: { Name: string; Value: string }[],
    private readonly signal: AbortSignal,
    private readonly dag: DagView,
  ) {
    this.layout.append(h("div", { class: "graph", id: "graph" }, this.dag.svg), this.panel);
    replace(
      main,
      this.header,
      this.actions,
      this.actionStatus,
      section(`Graph (${definition.steps.length} steps)`,
        h("p", { class: "toolbar" }, this.selectMode, h("label", { for: "select-mode" }, "Select steps on the graph (for Run selected steps)")),
        this.layout),
      section("Steps", this.stepsTable),
      section("Timeline", this.timelineBox),
      section("Parameters", parameters.length
        ? table(`${parameters.length} parameters`, ["Name", "Value"], parameters.map((p) => [p.Name, h("code", {}, p.Value)]), { id: "parameters" })
        : h("p", { class: "muted" }, "No parameters.")),
      section("Compare", this.compareForm()),
    );
    this.panel.addEventListener("keydown", (event) => {
      if ((event as KeyboardEvent).key === "Escape") this.close();
    });
  }

  /** A step clicked or pressed on the graph: select it in select mode, else open its panel. */
  activate(step: string): void {
    if (this.selectMode.checked) this.toggle(step);
    else this.open(step);
  }

  /** Poll until the execution is terminal (again polled after Stop/Retry), or the page is left. */
  async follow(): Promise<void> {
    while (!this.signal.aborted) {
      const running = !TERMINAL.has(this.current?.execution.PipelineExecutionStatus);
      if (!running) {
        // idle until an action restarts the polling, or the page is left
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        this.wake = null;
        if (this.signal.aborted) return;
      } else if (!(await pause(this.failures || document.hidden ? POLL_MS * 5 : POLL_MS, this.signal))) return;
      try {
        this.show(await snapshot(this.arn));
        if (this.failures) replace(this.actionStatus);
        this.failures = 0;
      } catch (error) {
        if (this.signal.aborted) return;
        this.failures++; // the server may be restarting: ask less often until it answers
        replace(this.actionStatus, errorBox(error, "Could not refresh"));
      }
    }
  }

  show(snap: Snapshot, force = false): void {
    const signature = JSON.stringify([snap.execution, snap.steps, [...this.selected]]);
    if (!force && signature === this.signature) {
      this.current = snap;
      this.dag.update(this.states(snap)); // durations of running steps still move
      return;
    }
    this.signature = signature;
    this.current = snap;
    const exec = snap.execution;
    const status = String(exec.PipelineExecutionStatus);
    const byName = new Map(snap.steps.map((step) => [step.StepName, step]));
    const skipped = notTaken(this.definition, byName);
    replaceKeepingFocus(
      this.header,
      h("h1", {}, exec.PipelineExecutionDisplayName && exec.PipelineExecutionDisplayName !== executionId(this.arn)
        ? `${exec.PipelineExecutionDisplayName} (${executionId(this.arn)})` : `Execution ${executionId(this.arn)}`),
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { id: "execution-status" }, badge(status)),
        h("dt", {}, "Pipeline"), h("dd", {}, h("a", { href: pipelineHref(this.pipeline), id: "execution-pipeline" }, this.pipeline)),
        h("dt", {}, "Started"), h("dd", {}, time(exec.CreationTime)),
        h("dt", {}, "Last modified"), h("dd", {}, time(exec.LastModifiedTime)),
        exec.SelectiveExecutionConfig?.SourcePipelineExecutionArn ? [h("dt", {}, "Selective execution of"),
          h("dd", {}, h("a", { href: executionHref(executionId(exec.SelectiveExecutionConfig.SourcePipelineExecutionArn)) },
            executionId(exec.SelectiveExecutionConfig.SourcePipelineExecutionArn)),
          ` (steps: ${(exec.SelectiveExecutionConfig.SelectedSteps ?? []).map((s: { StepName: string }) => s.StepName).join(", ")})`)] : null,
        exec.FailureReason ? [h("dt", {}, "Failure reason"), h("dd", {}, h("pre", { class: "reason", id: "execution-failure" }, exec.FailureReason))] : null),
    );
    this.dag.update(this.states(snap));
    this.drawActions(status);
    this.drawSteps(byName, skipped);
    void this.drawTimeline(snap);
    if (this.openStep && this.panelView) this.panelView.refresh(byName.get(this.openStep) ?? null);
  }

  private states(snap: Snapshot): Map<string, NodeState> {
    const byName = new Map(snap.steps.map((step) => [step.StepName, step]));
    const skipped = notTaken(this.definition, byName);
    const states = new Map<string, NodeState>();
    for (const step of this.definition.steps) {
      const record = byName.get(step.name);
      const sources = record ? sourceId(record) : {};
      states.set(step.name, record
        ? { status: record.StepStatus, attempts: record.AttemptCount, duration: duration(seconds(record.StartTime, record.EndTime)),
            cacheSource: sources.cache, reusedSource: sources.reused }
        : { status: "Not started", notTaken: skipped.has(step.name) });
    }
    return states;
  }

  private drawActions(status: string): void {
    const stop = h("button", { type: "button", class: "danger", id: "action-stop", disabled: !(status === "Executing") }, "Stop");
    stop.addEventListener("click", () => this.act("StopPipelineExecution", { PipelineExecutionArn: this.arn, ClientRequestToken: crypto.randomUUID() }, "Stop requested."));
    const retry = h("button", { type: "button", id: "action-retry", disabled: !(status === "Failed" || status === "Stopped") }, "Retry");
    retry.addEventListener("click", () => this.act("RetryPipelineExecution", { PipelineExecutionArn: this.arn, ClientRequestToken: crypto.randomUUID() }, "Retry started."));
    const names = [...this.selected];
    const run = h("button", { type: "button", class: "primary", id: "action-run-selected", disabled: !names.length || !TERMINAL.has(status) }, `Run selected steps (${names.length})`);
    run.addEventListener("click", () => void this.runSelected());
    replaceKeepingFocus(this.actions, stop, retry, run, names.length ? h("span", { class: "muted" }, `Selected: ${names.join(", ")}`) : null);
  }

  private async act(operation: string, body: object, done: string): Promise<void> {
    replace(this.actionStatus, "Working…");
    try {
      await callApi(operation, body);
      replace(this.actionStatus, done);
      this.show(await snapshot(this.arn), true);
      this.wake?.();
    } catch (error) {
      replace(this.actionStatus, errorBox(error, `${operation} failed`));
    }
  }

  private async runSelected(): Promise<void> {
    replace(this.actionStatus, "Starting a selective execution…");
    try {
      const started = await callApi("StartPipelineExecution", {
        PipelineName: this.pipeline,
        ClientRequestToken: crypto.randomUUID(),
        PipelineParameters: this.parameters,
        SelectiveExecutionConfig: { SourcePipelineExecutionArn: this.arn, SelectedSteps: [...this.selected].map((StepName) => ({ StepName })) },
      });
      remember(started.PipelineExecutionArn);
      navigate(executionHref(executionId(started.PipelineExecutionArn)));
    } catch (error) {
      replace(this.actionStatus, errorBox(error, "The selective execution was not started"));
    }
  }

  private toggle(step: string): void {
    if (this.selected.has(step)) this.selected.delete(step);
    else this.selected.add(step);
    this.dag.setSelected(step, this.selected.has(step));
    if (this.current) this.show(this.current, true);
  }

  private drawSteps(byName: Map<string, StepRecord>, skipped: Set<string>): void {
    const rows = this.definition.steps.map((step) => {
      const record = byName.get(step.name);
      const box = h("input", { type: "checkbox", id: `select-${step.name}`, "aria-label": `Select ${step.name}`, checked: this.selected.has(step.name) });
      box.addEventListener("change", () => this.toggle(step.name));
      const open = h("button", { type: "button", class: "link", id: `open-${step.name}` }, step.name);
      open.addEventListener("click", () => this.open(step.name));
      return [box, open, step.type, badge(record?.StepStatus ?? (skipped.has(step.name) ? "Not run" : "Not started")),
        String(record?.AttemptCount ?? "—"), time(record?.StartTime), duration(seconds(record?.StartTime, record?.EndTime))];
    });
    replaceKeepingFocus(this.stepsTable, table(`${this.definition.steps.length} steps`, ["Select", "Step", "Type", "Status", "Attempts", "Started", "Duration"], rows, { id: "steps" }));
  }

  private async drawTimeline(snap: Snapshot): Promise<void> {
    await Promise.all(snap.steps.map(async (step) => {
      if (!jobOf(step)) return;
      const key = `${step.AttemptCount}:${step.StepStatus}`;
      if (this.attemptKeys.get(step.StepName) === key && TERMINAL.has(step.StepStatus)) return;
      try {
        this.attempts.set(step.StepName, await attemptsOf(step));
        this.attemptKeys.set(step.StepName, key);
      } catch {
        /* the bar of the step alone is still right */
      }
    }));
    if (this.current !== snap) return;
    replace(this.timelineBox, snap.steps.length
      ? timeline(snap.execution.CreationTime, snap.steps, this.attempts)
      : h("p", { class: "muted" }, "No step has started yet."));
  }

  private open(step: string): void {
    if (this.openStep) this.dag.node(this.openStep)?.classList.remove("open");
    this.openStep = step;
    this.dag.node(step)?.classList.add("open");
    this.panelView?.close();
    const def = this.definition.steps.find((s) => s.name === step)!;
    this.panelView = new StepPanel(this.panel, def, this.arn, this.parameters, () => this.close(), this.signal);
    this.layout.classList.add("with-panel");
    this.panel.hidden = false;
    const record = this.current?.steps.find((s) => s.StepName === step) ?? null;
    this.panelView.refresh(record);
    this.panelView.focus();
  }

  private close(): void {
    const step = this.openStep;
    this.panelView?.close();
    this.panelView = null;
    this.openStep = null;
    this.panel.hidden = true;
    this.layout.classList.remove("with-panel");
    if (step) {
      const node = this.dag.node(step);
      node?.classList.remove("open");
      node?.focus();
    }
  }

  private compareForm(): HTMLElement {
    const holder = h("div", {}, h("p", { class: "loading" }, "Loading executions…"));
    callApi("ListPipelineExecutions", { PipelineName: this.pipeline, MaxResults: 50, SortBy: "CreationTime", SortOrder: "Descending" })
      .then((page) => {
        const others = (page.PipelineExecutionSummaries ?? []).filter((s: Record<string, string>) => s.PipelineExecutionArn !== this.arn);
        if (!others.length) {
          replace(holder, h("p", { class: "muted" }, "No other execution of this pipeline to compare with."));
          return;
        }
        const select = h("select", { id: "compare-with", name: "compare-with" }, others.map((s: Record<string, string>) => {
          remember(s.PipelineExecutionArn);
          const other = executionId(s.PipelineExecutionArn);
          return h("option", { value: other }, `${other} (${s.PipelineExecutionStatus}, ${time(s.StartTime)})`);
        }));
        const go = h("button", { type: "button" }, "Compare");
        go.addEventListener("click", () => navigate(`/compare?a=${executionId(this.arn)}&b=${encodeURIComponent(select.value)}`));
        replace(holder, h("div", { class: "toolbar" }, h("label", { for: "compare-with" }, "Compare with"), select, go));
      })
      .catch((error) => replace(holder, errorBox(error, "Could not list executions")));
    return holder;
  }
}

/** The step panel: status, reason, attempts, arguments, outputs, logs, callback forms. */
class StepPanel {
  private readonly facts = h("div");
  private readonly details = h("div");
  private readonly logs = h("pre", { class: "log", id: "step-log", "aria-label": "Job log", tabindex: 0 });
  private readonly heading: HTMLHeadingElement;
  private readonly stop = new AbortController();
  private record: StepRecord | null = null;
  private detailKey = "";
  private following = false;
  private drawing = 0;

  constructor(
    root: HTMLElement,
    private readonly def: StepDef,
    private readonly arn: string,
    private readonly parameters: { Name: string; Value: string }[],
    onClose: () => void,
    pageSignal: AbortSignal,
  ) {
    pageSignal.addEventListener("abort", () => this.stop.abort(), { once: true });
    const close = h("button", { type: "button", "aria-label": "Close step details" }, "Close");
    close.addEventListener("click", onClose);
    this.heading = h("h2", { tabindex: -1, id: "panel-title" }, h("span", {}, def.name), close);
    replace(root, this.heading, this.facts, this.details);
  }

  focus(): void {
    this.heading.focus();
  }

  close(): void {
    this.stop.abort();
  }

  refresh(record: StepRecord | null): void {
    this.record = record;
    const def = this.def;
    replace(this.facts,
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { id: "panel-status" }, badge(record?.StepStatus ?? "Not started")),
        h("dt", {}, "Type"), h("dd", {}, def.type),
        def.description ? [h("dt", {}, "Description"), h("dd", {}, def.description)] : null,
        h("dt", {}, "Attempts"), h("dd", {}, String(record?.AttemptCount ?? 0)),
        h("dt", {}, "Started"), h("dd", {}, time(record?.StartTime)),
        h("dt", {}, "Ended"), h("dd", {}, time(record?.EndTime)),
        h("dt", {}, "Duration"), h("dd", {}, duration(seconds(record?.StartTime, record?.EndTime))),
        record?.CacheHitResult?.SourcePipelineExecutionArn ? [h("dt", {}, "Cache hit from"), h("dd", {}, link(record.CacheHitResult.SourcePipelineExecutionArn))] : null,
        record?.SelectiveExecutionResult?.SourcePipelineExecutionArn ? [h("dt", {}, "Reused from"), h("dd", {}, link(record.SelectiveExecutionResult.SourcePipelineExecutionArn))] : null),
      record?.FailureReason ? [h("h3", {}, "Failure reason"), h("pre", { class: "reason", id: "panel-failure" }, record.FailureReason)] : null);
    const key = `${record?.StepStatus}:${record?.AttemptCount}`;
    if (key !== this.detailKey) {
      this.detailKey = key;
      void this.drawDetails();
    }
  }

  private async drawDetails(): Promise<void> {
    const drawing = ++this.drawing;
    const record = this.record;
    const parts: (HTMLElement | null)[] = [];
    const meta = record?.Metadata ?? {};
    const job = record ? jobOf(record) : null;
    let described: Record<string, unknown> | null = null;
    if (job) {
      try {
        described = await callApi(job.kind.describe, { [job.kind.nameKey]: job.name });
      } catch (error) {
        parts.push(errorBox(error, `Could not describe ${job.name}`));
      }
    }
    if (job?.kind.logGroup) {
      parts.push(h("h3", {}, "Logs"), this.logs);
      if (!this.following) void this.followLogs(job.kind.logGroup, job.name);
    }
    if (meta.Condition) parts.push(h("h3", {}, "Condition outcome"), h("p", { id: "condition-outcome" }, String(meta.Condition.Outcome ?? "—")));
    if (meta.Lambda) parts.push(h("h3", {}, "Lambda outputs"), json(meta.Lambda.OutputParameters ?? []));
    if (meta.Callback) parts.push(...this.callback(meta.Callback));
    if (meta.Fail) parts.push(h("h3", {}, "Error message"), h("pre", { class: "reason" }, String(meta.Fail.ErrorMessage ?? "")));
    if (meta.RegisterModel?.Arn) parts.push(h("h3", {}, "Registered model package"), h("p", {}, h("a", { href: "/models" }, String(meta.RegisterModel.Arn))));
    parts.push(h("h3", {}, "Arguments (resolved)"));
    if (described) {
      const request = Object.fromEntries(Object.entries(described).filter(([k]) => !/(Status|Time|FailureReason|Arn|Details|Statuses)$/.test(k) || k === "RoleArn"));
      parts.push(json(request));
    } else parts.push(json(resolveParameters(this.def.raw.Arguments ?? this.argumentsOf(), this.parameters, this.arn)));
    const propertyFiles = this.def.raw.PropertyFiles as unknown[] | undefined;
    if (propertyFiles?.length) parts.push(h("h3", {}, "Property files"), json(propertyFiles));
    if (described) parts.push(h("h3", {}, "Properties"), json(described));
    else if (record) {
      const outputs = outputsOf(record);
      parts.push(h("h3", {}, "Outputs"), Object.keys(outputs).length ? json(outputs) : h("p", { class: "muted" }, "None."));
      parts.push(h("h3", {}, "Metadata"), json(meta));
    }
    if (this.stop.signal.aborted || drawing !== this.drawing) return; // a newer state is being drawn
    replace(this.details, parts);
  }

  private argumentsOf(): unknown {
    const { Name: _n, Type: _t, ...rest } = this.def.raw;
    return rest;
  }

  private callback(meta: Record<string, unknown>): HTMLElement[] {
    const token = String(meta.CallbackToken ?? "");
    const parts: HTMLElement[] = [h("h3", {}, "Callback"), h("dl", { class: "facts" },
      h("dt", {}, "Token"), h("dd", {}, h("code", { id: "callback-token" }, token)),
      meta.SqsQueueUrl ? [h("dt", {}, "Queue"), h("dd", {}, String(meta.SqsQueueUrl))] : null)];
    if (meta.OutputParameters) parts.push(json(meta.OutputParameters));
    if (this.record?.StepStatus !== "Executing" || !token) return parts;
    const status = h("div", { role: "status", "aria-live": "polite" });
    const outputs = ((this.def.raw.OutputParameters as { OutputName: string; OutputType?: string }[]) ?? []);
    const inputs = outputs.map((o) => {
      const input = h("input", { type: "text", id: `callback-out-${o.OutputName}`, name: o.OutputName });
      return { name: o.OutputName, input, row: [h("label", { for: `callback-out-${o.OutputName}` }, `${o.OutputName}${o.OutputType ? ` (${o.OutputType})` : ""}`), input, h("span")] };
    });
    const succeed = h("form", { class: "params", "aria-label": "Succeed the callback" }, inputs.map((i) => i.row),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Succeed")));
    succeed.addEventListener("submit", (event) => {
      event.preventDefault();
      callApi("SendPipelineExecutionStepSuccess", { CallbackToken: token, ClientRequestToken: crypto.randomUUID(),
        OutputParameters: inputs.map((i) => ({ Name: i.name, Value: i.input.value })) })
        .then(() => replace(status, "Callback succeeded."))
        .catch((error) => replace(status, errorBox(error, "SendPipelineExecutionStepSuccess failed")));
    });
    const reason = h("input", { type: "text", id: "callback-reason", name: "FailureReason", required: true });
    const fail = h("form", { class: "params", "aria-label": "Fail the callback" },
      h("label", { for: "callback-reason" }, "Failure reason"), reason, h("span"),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "danger" }, "Fail")));
    fail.addEventListener("submit", (event) => {
      event.preventDefault();
      callApi("SendPipelineExecutionStepFailure", { CallbackToken: token, ClientRequestToken: crypto.randomUUID(), FailureReason: reason.value })
        .then(() => replace(status, "Callback failed as asked."))
        .catch((error) => replace(status, errorBox(error, "SendPipelineExecutionStepFailure failed")));
    });
    parts.push(h("h3", {}, "Answer the callback"), succeed, fail, status);
    return parts;
  }

  /** Every attempt's log stream of the job, tailed until the step is over and nothing is left. */
  private async followLogs(group: string, jobName: string): Promise<void> {
    this.following = true;
    const stem = jobName.replace(/-\d+$/, "");
    const tokens = new Map<string, string | undefined>();
    let quietAfterEnd = 0;
    while (!this.stop.signal.aborted) {
      let added = 0;
      try {
        const streams = await callLogs("DescribeLogStreams", { logGroupName: group, logStreamNamePrefix: stem });
        for (const stream of streams.logStreams ?? []) {
          const name = String(stream.logStreamName);
          // one stream per attempt's job; keyed by the job (the part before "/"), since a running
          // job's stream name can change once it ends, and the forward token is a line position
          const job = name.split("/")[0];
          if (!tokens.has(job) && tokens.size) this.logs.appendChild(document.createTextNode(`--- ${name} ---\n`));
          const token = tokens.get(job);
          const events = await callLogs("GetLogEvents", { logGroupName: group, logStreamName: name, startFromHead: true, ...(token ? { nextToken: token } : {}) });
          tokens.set(job, events.nextForwardToken);
          for (const event of events.events ?? []) {
            this.logs.appendChild(document.createTextNode(`${String(event.message).replace(/\n$/, "")}\n`));
            added++;
          }
        }
      } catch (error) {
        if (error instanceof Error && !/ResourceNotFound/.test(error.name + error.message)) this.logs.appendChild(document.createTextNode(`(could not read the log: ${error.message})\n`));
      }
      if (added) this.logs.scrollTop = this.logs.scrollHeight;
      const done = this.record && TERMINAL.has(this.record.StepStatus);
      if (done && !added && ++quietAfterEnd > 1) break;
      if (!(await pause(POLL_MS, this.stop.signal))) break;
    }
    if (!this.logs.textContent) this.logs.textContent = "(no output)";
  }
}

function link(arn: string): HTMLElement {
  const id = executionId(arn);
  return h("a", { href: executionHref(id) }, id);
}

/** A step's Arguments with `{"Get": "Parameters.X"}` and execution variables put in. */
export function resolveParameters(value: unknown, parameters: { Name: string; Value: string }[], arn: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveParameters(v, parameters, arn));
  if (value && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === "Get" && typeof entries[0][1] === "string") {
      const ref = entries[0][1];
      if (ref.startsWith("Parameters.")) {
        const found = parameters.find((p) => p.Name === ref.slice(11));
        if (found) return found.Value;
      }
      if (ref === "Execution.PipelineExecutionArn") return arn;
      if (ref === "Execution.PipelineExecutionId") return executionId(arn);
      if (ref === "Execution.PipelineName") return pipelineName(arn);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolveParameters(v, parameters, arn)]));
  }
  return value;
}
