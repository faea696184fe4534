/** Finding an execution from its 12-character id alone, and remembering the ARNs we have seen. */
import { callApi, listAll } from "./api";
import { executionId } from "./format";

const KEY = "execution-arn:";

export function remember(arn: string): void {
  try {
    sessionStorage.setItem(KEY + executionId(arn), arn);
  } catch {
    /* storage may be off: the lookup below still works */
  }
}

/** The execution ARN for an id: from this tab's memory, else by listing every pipeline's executions. */
export async function findExecution(id: string): Promise<string | null> {
  let known: string | null = null;
  try {
    known = sessionStorage.getItem(KEY + id);
  } catch {
    known = null;
  }
  if (known) return known;
  const pipelines = await listAll<{ PipelineName: string; PipelineArn: string }>(
    "ListPipelines", { MaxResults: 100 }, "PipelineSummaries");
  let found: string | null = null;
  const queue = [...pipelines];
  const worker = async () => {
    while (!found && queue.length) {
      const pipeline = queue.shift()!;
      let token: string | undefined;
      do {
        const page = await callApi("ListPipelineExecutions", {
          PipelineName: pipeline.PipelineArn, MaxResults: 100, ...(token ? { NextToken: token } : {}) });
        for (const summary of page.PipelineExecutionSummaries ?? []) {
          remember(summary.PipelineExecutionArn);
          if (executionId(summary.PipelineExecutionArn) === id) found = summary.PipelineExecutionArn;
        }
        token = page.NextToken;
      } while (token && !found);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return found;
}
