/**
 * The console's run-time configuration: `config.json`, fetched relative to the URL of the
 * console's own script (so `/_console/config.json`). `pipelines serve` answers it with
 * `{"apiEndpoint": "", "region": <its region>, "auth": null}`; the cloud stack writes one with
 * its API URL and Cognito ids. See docs/console.md ("Configuration and the API contract").
 */
export interface AuthConfig {
  userPoolId: string;
  userPoolClientId: string;
  identityPoolId: string;
  cognitoDomain: string;
}

export interface ConsoleConfig {
  /** "" = the origin that served the page; otherwise the API's base URL. */
  apiEndpoint: string;
  region: string;
  /** null: no sign-in, requests go unsigned (pipelines serve); set: Cognito + SigV4 (cloud-auth.ts). */
  auth: AuthConfig | null;
  /** Optional endpoints for the Logs and Scheduler calls; default: apiEndpoint. */
  endpoints?: { logs?: string; scheduler?: string; s3?: string };
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const url = new URL("config.json", import.meta.url);
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`could not load ${url.pathname}: HTTP ${response.status}`);
  const raw = (await response.json()) as Partial<ConsoleConfig>;
  if (typeof raw.region !== "string" || !raw.region) throw new Error(`${url.pathname} has no "region"`);
  return {
    apiEndpoint: typeof raw.apiEndpoint === "string" ? raw.apiEndpoint.replace(/\/+$/, "") : "",
    region: raw.region,
    auth: raw.auth ?? null,
    endpoints: raw.endpoints,
  };
}
