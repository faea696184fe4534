/**
 * Cloud sign-in and request signing (owned by the cloud console work, issue 16 item 6).
 *
 * Contract (used only when `config.auth` is set):
 * - main.ts awaits `ready(config)` once at start-up, before any page renders: finish a sign-in
 *   redirect (the hosted UI's `?code=`), or send the user to the Cognito hosted UI (and never
 *   resolve), or resolve once a session exists.
 * - api.ts calls `signRequest(config, request)` for every API call and sends the headers it
 *   returns (SigV4 for the request's `service`, with credentials from the Cognito identity pool
 *   behind the user pool login).
 * - main.ts shows `signedIn(config)` (a user name, or null) in the header with a "Sign out"
 *   button that calls `signOut(config)`.
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

export async function ready(config: ConsoleConfig): Promise<void> {
  void config;
  throw new Error("cloud sign-in not built: this console's config.json sets auth, which needs the cloud-auth module");
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
