/**
 * The only way the console talks to the service: every call goes through `send` below.
 *
 * - `callApi("ListPipelines", {...})`: SageMaker's AWS JSON 1.1 API (`X-Amz-Target:
 *   SageMaker.<Operation>`), the same operations boto3 calls.
 * - `callLogs("GetLogEvents", {...})`: the CloudWatch Logs subset (`Logs_20140328.<Operation>`).
 * - `callScheduler("GET", "/schedules")`: the EventBridge Scheduler subset (rest-json).
 * - `readObject("s3://bucket/key")`: an object's text (model metrics files), path-style S3 GET.
 *
 * With `config.auth` null (pipelines serve) requests go unsigned to the same origin. With
 * `config.auth` set (the cloud stack), `cloud-auth.ts` signs each request (SigV4 with the
 * signed-in user's Cognito credentials) before it is sent. Errors come back as `ApiError` with
 * the service's own code and message, shown verbatim.
 */
import { signRequest, type UnsignedRequest } from "./cloud-auth";
import type { ConsoleConfig } from "./config";

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The API refused the page itself (browser-origin defence), not the operation. */
  get refusedPage(): boolean {
    return this.status === 403 && /allowed_origins/.test(this.message);
  }
}

let current: ConsoleConfig | null = null;

export function configure(config: ConsoleConfig): void {
  current = config;
}

export function config(): ConsoleConfig {
  if (!current) throw new Error("the console is not configured yet");
  return current;
}

function endpoint(service: "sagemaker" | "logs" | "scheduler" | "s3"): string {
  const c = config();
  const base = (service !== "sagemaker" && c.endpoints?.[service]) || c.apiEndpoint;
  return base || window.location.origin;
}

async function send(request: UnsignedRequest, raw = false): Promise<unknown> {
  const c = config();
  let headers = request.headers;
  if (c.auth) headers = { ...headers, ...(await signRequest(c, request)) };
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers,
      body: request.method === "GET" ? undefined : request.body,
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError("NetworkError", `the API at ${request.url} could not be reached (${String(error)})`, 0);
  }
  const text = await response.text();
  if (raw && response.ok) return text;
  let parsed: unknown = {};
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text };
    }
  }
  if (!response.ok) {
    const body = parsed as Record<string, unknown>;
    const type = String(body.__type ?? body.code ?? response.headers.get("x-amzn-ErrorType") ?? `HTTP${response.status}`);
    const message = String(body.message ?? body.Message ?? text ?? response.statusText);
    throw new ApiError(type.split("#").pop()!.split(":")[0], message, response.status);
  }
  return parsed;
}

function jsonRequest(service: "sagemaker" | "logs", target: string, body: object): UnsignedRequest {
  return {
    service,
    method: "POST",
    url: endpoint(service) + "/",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target },
    body: JSON.stringify(body),
  };
}

/** A SageMaker operation, e.g. `callApi("DescribePipeline", {PipelineName: "p"})`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function callApi<T = any>(operation: string, body: object = {}): Promise<T> {
  return (await send(jsonRequest("sagemaker", `SageMaker.${operation}`, body))) as T;
}

/** A CloudWatch Logs operation, e.g. `callLogs("GetLogEvents", {...})`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function callLogs<T = any>(operation: string, body: object): Promise<T> {
  return (await send(jsonRequest("logs", `Logs_20140328.${operation}`, body))) as T;
}

/** An EventBridge Scheduler (rest-json) request, e.g. `callScheduler("GET", "/schedules")`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function callScheduler<T = any>(method: string, path: string, body?: object): Promise<T> {
  return (await send({
    service: "scheduler",
    method,
    url: endpoint("scheduler") + path,
    headers: body ? { "Content-Type": "application/json" } : { "X-Amz-User-Agent": "pipelines-console" },
    body: body ? JSON.stringify(body) : "",
  })) as T;
}

/** Every page of a paginated SageMaker List* call. */
export async function listAll<T>(operation: string, body: object, key: string, limit = 10000): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page: Record<string, unknown> = await callApi(operation, token ? { ...body, NextToken: token } : body);
    items.push(...((page[key] as T[]) ?? []));
    token = page.NextToken as string | undefined;
  } while (token && items.length < limit);
  return items;
}

/** An object's text from `s3://bucket/key` (path-style GET on the S3 endpoint), e.g. model metrics. */
export async function readObject(uri: string): Promise<string> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new ApiError("InvalidUri", `not an s3:// URI: ${uri}`, 400);
  const path = `/${encodeURIComponent(match[1])}/${match[2].split("/").map(encodeURIComponent).join("/")}`;
  const body = await send({ service: "s3", method: "GET", url: endpoint("s3") + path, headers: {}, body: "" }, true);
  return String(body);
}
