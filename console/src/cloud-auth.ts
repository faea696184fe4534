/**
 * Cloud sign-in and request signing (owned by the cloud console work, issue 16 item 6).
 *
 * Contract with api.ts: when `config.auth` is set, api.ts calls `signRequest(config, request)`
 * for every API call and sends the headers it returns (SigV4 for the request's `service`,
 * signed with credentials from the Cognito identity pool behind the user pool login). It may
 * redirect to the Cognito hosted UI to sign in (and never resolve). `signedIn(config)` tells the
 * header what to show; `signOut(config)` forgets the credentials.
 *
 * This placeholder refuses, so a cloud config fails clearly until the real module lands.
 */
import type { ConsoleConfig } from "./config";

export interface UnsignedRequest {
  /** SigV4 service name: "sagemaker" (or "execute-api" behind API Gateway), "logs", "scheduler", "s3". */
  service: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export async function signRequest(config: ConsoleConfig, request: UnsignedRequest): Promise<Record<string, string>> {
  void config;
  void request;
  throw new Error("cloud sign-in not built: this console's config.json sets auth, which needs the cloud-auth module");
}

export function signedIn(config: ConsoleConfig): string | null {
  void config;
  return null;
}

export function signOut(config: ConsoleConfig): void {
  void config;
}
