/**
 * What the console needs from a pipeline definition: every step (condition branches
 * flattened), its type, the edges between steps (DependsOn, data references, condition
 * branches), and the parameters. Mirrors shared/pipelines/graph.py's rules.
 */
export interface StepDef {
  name: string;
  type: string;
  description?: string;
  displayName?: string;
  raw: Record<string, unknown>;
  /** The Condition step whose branch holds this step, and which branch. */
  branchOf?: { condition: string; branch: "if" | "else" };
}

export interface ParameterDef {
  Name: string;
  Type: string;
  DefaultValue?: unknown;
  EnumValues?: string[];
}

export interface Edge {
  from: string;
  to: string;
  kind: "data" | "depends" | "if" | "else";
}

export interface Definition {
  steps: StepDef[];
  edges: Edge[];
  parameters: ParameterDef[];
  raw: Record<string, unknown>;
}

export function parseDefinition(text: string): Definition {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const steps: StepDef[] = [];
  const walk = (list: unknown, branchOf?: StepDef["branchOf"]) => {
    if (!Array.isArray(list)) return;
    for (const item of list) {
      if (!item || typeof item !== "object") continue;
      const step = item as Record<string, unknown>;
      const def: StepDef = {
        name: String(step.Name),
        type: String(step.Type),
        description: typeof step.Description === "string" ? step.Description : undefined,
        displayName: typeof step.DisplayName === "string" ? step.DisplayName : undefined,
        raw: step,
        branchOf,
      };
      steps.push(def);
      if (def.type === "Condition") {
        const args = (step.Arguments ?? {}) as Record<string, unknown>;
        walk(args.IfSteps, { condition: def.name, branch: "if" });
        walk(args.ElseSteps, { condition: def.name, branch: "else" });
      }
    }
  };
  walk(raw.Steps);
  const names = new Set(steps.map((step) => step.name));
  const edges: Edge[] = [];
  const seen = new Set<string>();
  const add = (from: string, to: string, kind: Edge["kind"]) => {
    const key = `${from}\u0000${to}`;
    if (from === to || !names.has(from) || seen.has(key)) return;
    seen.add(key);
    edges.push({ from, to, kind });
  };
  for (const step of steps) {
    if (step.branchOf) add(step.branchOf.condition, step.name, step.branchOf.branch);
    for (const dep of (step.raw.DependsOn as unknown[]) ?? []) add(String(dep), step.name, "depends");
    for (const ref of references(step.raw, step.type === "Condition")) add(ref, step.name, "data");
  }
  return { steps, edges, parameters: (raw.Parameters as ParameterDef[]) ?? [], raw };
}

/** Names of the steps a step reads from (`{"Get": "Steps.X..."}` anywhere in it). */
function references(step: Record<string, unknown>, isCondition: boolean): Set<string> {
  const found = new Set<string>();
  const visit = (value: unknown, key?: string) => {
    if (isCondition && (key === "IfSteps" || key === "ElseSteps")) return;
    if (Array.isArray(value)) value.forEach((v) => visit(v));
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (k === "Get" && typeof v === "string" && v.startsWith("Steps.")) {
          found.add(v.slice(6).split(/[.[]/)[0]);
        } else visit(v, k);
      }
    }
  };
  for (const [k, v] of Object.entries(step)) if (k !== "Name" && k !== "DependsOn") visit(v, k);
  return found;
}
