/** Reading ListPipelineExecutionSteps entries: job references, attempts, outputs. */
import { callApi } from "./api";
import { executionId } from "./format";

export interface StepRecord {
  StepName: string;
  StepDisplayName?: string;
  StepStatus: string;
  StartTime?: number;
  EndTime?: number;
  FailureReason?: string;
  AttemptCount?: number;
  Metadata?: Record<string, Record<string, unknown>>;
  CacheHitResult?: { SourcePipelineExecutionArn?: string };
  SelectiveExecutionResult?: { SourcePipelineExecutionArn?: string };
}

export interface JobKind {
  metadata: string; // Metadata member
  describe: string; // Describe operation
  list: string; // List operation
  nameKey: string; // request key naming the job
  summaries: string; // List response key
  prefix: string; // field prefix (ProcessingJobStatus, ...)
  logGroup?: string;
}

export const JOB_KINDS: JobKind[] = [
  { metadata: "ProcessingJob", describe: "DescribeProcessingJob", list: "ListProcessingJobs", nameKey: "ProcessingJobName", summaries: "ProcessingJobSummaries", prefix: "Processing", logGroup: "/aws/sagemaker/ProcessingJobs" },
  { metadata: "TrainingJob", describe: "DescribeTrainingJob", list: "ListTrainingJobs", nameKey: "TrainingJobName", summaries: "TrainingJobSummaries", prefix: "Training", logGroup: "/aws/sagemaker/TrainingJobs" },
  { metadata: "TransformJob", describe: "DescribeTransformJob", list: "ListTransformJobs", nameKey: "TransformJobName", summaries: "TransformJobSummaries", prefix: "Transform", logGroup: "/aws/sagemaker/TransformJobs" },
  { metadata: "TuningJob", describe: "DescribeHyperParameterTuningJob", list: "ListHyperParameterTuningJobs", nameKey: "HyperParameterTuningJobName", summaries: "HyperParameterTuningJobSummaries", prefix: "HyperParameterTuning" },
];

export function jobOf(step: StepRecord): { kind: JobKind; name: string } | null {
  for (const kind of JOB_KINDS) {
    const arn = step.Metadata?.[kind.metadata]?.Arn;
    if (typeof arn === "string") return { kind, name: arn.split("/").pop()! };
  }
  return null;
}

/** The job name without its attempt suffix: every attempt's job starts with it. */
export function attemptStem(jobName: string): string {
  return jobName.replace(/-\d+$/, "");
}

export interface Attempt {
  name: string;
  status: string;
  start: number;
  end?: number;
}

/** Every attempt's job of a job step, oldest first. */
export async function attemptsOf(step: StepRecord): Promise<Attempt[]> {
  const job = jobOf(step);
  if (!job) return [];
  const stem = attemptStem(job.name);
  // NameContains takes at most 63 characters; the filter below keeps only this step's jobs
  const page = await callApi(job.kind.list, { NameContains: stem.slice(-63), MaxResults: 100, SortBy: "CreationTime", SortOrder: "Ascending" });
  const summaries = (page[job.kind.summaries] ?? []) as Record<string, unknown>[];
  return summaries
    .filter((s) => attemptStem(String(s[job.kind.nameKey])) === stem)
    .map((s) => ({
      name: String(s[job.kind.nameKey]),
      status: String(s[`${job.kind.prefix}JobStatus`] ?? "Unknown"),
      start: Number(s[`${job.kind.prefix}StartTime`] ?? s.CreationTime),
      end: (s[`${job.kind.prefix}EndTime`] as number | undefined) ?? (/^(Completed|Failed|Stopped)$/.test(String(s[`${job.kind.prefix}JobStatus`])) ? (s.LastModifiedTime as number) : undefined),
    }));
}

export function sourceId(step: StepRecord): { cache?: string; reused?: string } {
  const cache = step.CacheHitResult?.SourcePipelineExecutionArn;
  const reused = step.SelectiveExecutionResult?.SourcePipelineExecutionArn;
  return { cache: cache ? executionId(cache) : undefined, reused: reused ? executionId(reused) : undefined };
}

/** What a step produced, in one small object (for the compare view and the panel). */
export function outputsOf(step: StepRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [kind, value] of Object.entries(step.Metadata ?? {})) {
    if (!value || typeof value !== "object") continue;
    if ("OutputParameters" in value) out[`${kind} outputs`] = value.OutputParameters;
    if ("Outcome" in value) out[`${kind} outcome`] = value.Outcome;
    if ("ErrorMessage" in value) out[`${kind} error`] = value.ErrorMessage;
    if ("Arn" in value) out[`${kind}`] = value.Arn;
  }
  return out;
}
