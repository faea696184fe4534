/**
 * Cloud sign-in and request signing: the console deployed by the CDK stack (config.auth set).
 *
 * Contract (used only when `config.auth` is set; nothing else in the app knows about credentials):
 * - main.ts awaits `ready(config)` before any page renders: it finishes a sign-in redirect (the
 *   hosted UI's `?code=`, then reloads at the page the user asked for), or sends the user to the
 *   hosted UI (never resolving), or resolves once the tab has credentials;
 * - api.ts calls `signRequest(config, request)` for every call and sends the headers it returns
 *   (a SigV4 signature as the signed-in user);
 * - main.ts shows `signedIn(config)` (the user's e-mail, or null) with a "Sign out" button that
 *   calls `signOut(config)`.
 *
 * 1. **Sign-in**: the Cognito hosted UI, OAuth 2.0 authorization-code flow with PKCE (S256; the
 *    app client is public, so the verifier replaces a client secret). Before redirecting, the
 *    verifier, a random `state` and the page the user asked for are kept in sessionStorage; the
 *    hosted UI calls back to `<origin>/?code=...&state=...`, the code is exchanged at
 *    `/oauth2/token`, and the page reloads at the deep link the user asked for.
 * 2. **Credentials**: the ID token is exchanged for temporary AWS credentials of the identity
 *    pool's signed-in role (Cognito Identity `GetId` + `GetCredentialsForIdentity`, the
 *    "enhanced" flow), renewed `REFRESH_MARGIN_MS` before they expire; an expiring ID token is
 *    first renewed with the refresh token, and only when that fails does the user sign in again.
 * 3. **Signing**: SigV4 over method, URL, headers and body, for `execute-api` when the request
 *    goes to the API (API Gateway verifies the signature, then the API authorizes the role's IAM
 *    policies like any caller's), else for the request's own service (`logs`: job logs).
 *
 * Tokens live in sessionStorage (one tab's session; never in localStorage, where they would
 * outlive the tab); the Content-Security-Policy forbids any script but the app's own.
 */
import type { AuthConfig, ConsoleConfig } from "./config";

/** The AWS libraries, loaded only by a cloud console (their own chunk: `pipelines serve`'s
 * console, which never signs, does not download them). */
const cognitoIdentity = () => import("@aws-sdk/client-cognito-identity");
const signing = () => Promise.all([import("@smithy/signature-v4"), import("@aws-crypto/sha256-js")]);

export interface UnsignedRequest {
  /** SigV4 service name: "sagemaker" (or "execute-api" behind API Gateway), "logs", "scheduler", "s3". */
  service: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Renew credentials and tokens this long before they expire (a request in flight must not outlive them). */
export const REFRESH_MARGIN_MS = 5 * 60 * 1000;
const SCOPES = "openid email profile";
const KEY = "pipelines-console-auth";

interface Tokens {
  idToken: string;
  refreshToken?: string;
  /** Epoch ms when the ID token expires. */
  idExpires: number;
}

interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch ms. */
  expires: number;
}

interface Session {
  tokens?: Tokens;
  identityId?: string;
  credentials?: AwsCredentials;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  returnTo: string;
}

export class SignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignInError";
  }
}

// -- storage --------------------------------------------------------------------------------------

function load<T>(name: string): T | null {
  const raw = sessionStorage.getItem(`${KEY}:${name}`);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

function save(name: string, value: unknown): void {
  sessionStorage.setItem(`${KEY}:${name}`, JSON.stringify(value));
}

function forget(name: string): void {
  sessionStorage.removeItem(`${KEY}:${name}`);
}

// -- PKCE and the hosted UI -------------------------------------------------------------------------

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** RFC 7636 S256: BASE64URL(SHA256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function redirectUri(): string {
  return `${location.origin}/`;
}

function domain(auth: AuthConfig): string {
  return auth.cognitoDomain.replace(/\/+$/, "");
}

/** Send the browser to the hosted UI; resolves never (the page is being left). */
async function beginSignIn(auth: AuthConfig): Promise<never> {
  const pending: PendingSignIn = {
    state: randomString(16),
    verifier: randomString(48),
    returnTo: location.pathname + location.search + location.hash,
  };
  save("pending", pending);
  const query = new URLSearchParams({
    response_type: "code",
    client_id: auth.userPoolClientId,
    redirect_uri: redirectUri(),
    scope: SCOPES,
    state: pending.state,
    code_challenge: await codeChallenge(pending.verifier),
    code_challenge_method: "S256",
  });
  location.assign(`${domain(auth)}/oauth2/authorize?${query}`);
  return new Promise<never>(() => undefined);
}

async function tokenRequest(auth: AuthConfig, form: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch(`${domain(auth)}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: auth.userPoolClientId, ...form }).toString(),
    credentials: "omit",
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body.id_token !== "string") {
    throw new SignInError(`Cognito refused the ${form.grant_type} grant: ${String(body.error ?? response.status)}`);
  }
  return body;
}

function tokensFrom(body: Record<string, unknown>, previous?: Tokens): Tokens {
  const idToken = String(body.id_token);
  const claims = decodeClaims(idToken);
  const expiresIn = Number(body.expires_in ?? 3600);
  return {
    idToken,
    refreshToken: typeof body.refresh_token === "string" ? body.refresh_token : previous?.refreshToken,
    idExpires: typeof claims.exp === "number" ? claims.exp * 1000 : Date.now() + expiresIn * 1000,
  };
}

/** The hosted UI called back with ?code&state: exchange the code (once), then go where the user was going. */
async function completeSignIn(auth: AuthConfig, params: URLSearchParams): Promise<never> {
  const pending = load<PendingSignIn>("pending");
  forget("pending");
  if (!pending || params.get("state") !== pending.state) {
    // A stale or forged callback: never exchange a code this tab did not ask for.
    return beginSignIn(auth);
  }
  const body = await tokenRequest(auth, {
    grant_type: "authorization_code",
    code: params.get("code") ?? "",
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
  });
  save("session", { tokens: tokensFrom(body) } satisfies Session);
  location.replace(pending.returnTo || "/");
  return new Promise<never>(() => undefined);
}

export function decodeClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split(".")[1] ?? "";
  try {
    const text = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

// -- credentials ------------------------------------------------------------------------------------

function fresh(expires: number | undefined): boolean {
  return expires !== undefined && expires - Date.now() > REFRESH_MARGIN_MS;
}

async function validTokens(auth: AuthConfig, session: Session): Promise<Tokens> {
  const tokens = session.tokens;
  if (tokens && fresh(tokens.idExpires)) return tokens;
  if (tokens?.refreshToken) {
    try {
      const body = await tokenRequest(auth, { grant_type: "refresh_token", refresh_token: tokens.refreshToken });
      return tokensFrom(body, tokens);
    } catch {
      // refresh token expired or revoked: sign in again
    }
  }
  forget("session");
  return beginSignIn(auth);
}

function providerName(config: ConsoleConfig, auth: AuthConfig): string {
  return `cognito-idp.${config.region}.amazonaws.com/${auth.userPoolId}`;
}

async function exchange(config: ConsoleConfig, auth: AuthConfig, session: Session): Promise<Session> {
  const tokens = await validTokens(auth, session);
  const { CognitoIdentityClient, GetCredentialsForIdentityCommand, GetIdCommand } = await cognitoIdentity();
  const client = new CognitoIdentityClient({ region: config.region });
  const logins = { [providerName(config, auth)]: tokens.idToken };
  let identityId = session.identityId;
  if (!identityId) {
    const id = await client.send(new GetIdCommand({ IdentityPoolId: auth.identityPoolId, Logins: logins }));
    identityId = id.IdentityId;
    if (!identityId) throw new SignInError("Cognito Identity returned no identity id");
  }
  const result = await client.send(new GetCredentialsForIdentityCommand({ IdentityId: identityId, Logins: logins }));
  const c = result.Credentials;
  if (!c?.AccessKeyId || !c.SecretKey || !c.SessionToken || !c.Expiration) {
    throw new SignInError("Cognito Identity returned no credentials for the signed-in role");
  }
  const next: Session = {
    tokens,
    identityId,
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretKey,
      sessionToken: c.SessionToken,
      expires: new Date(c.Expiration).getTime(),
    },
  };
  save("session", next);
  return next;
}

let inFlight: Promise<AwsCredentials> | null = null;

/** Credentials valid for at least REFRESH_MARGIN_MS. Concurrent callers (a page's first calls)
 * share one sign-in completion or renewal, so a callback's code is exchanged exactly once. */
async function credentials(config: ConsoleConfig, auth: AuthConfig): Promise<AwsCredentials> {
  const current = load<Session>("session")?.credentials;
  if (current && fresh(current.expires) && !new URLSearchParams(location.search).has("code")) return current;
  inFlight ??= obtain(config, auth).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

async function obtain(config: ConsoleConfig, auth: AuthConfig): Promise<AwsCredentials> {
  const params = new URLSearchParams(location.search);
  if (params.has("code") && params.has("state")) return completeSignIn(auth, params);
  if (params.has("error") && load<PendingSignIn>("pending")) {
    forget("pending");
    throw new SignInError(`sign-in failed: ${params.get("error_description") ?? params.get("error")}`);
  }
  const session = load<Session>("session") ?? {};
  if (session.credentials && fresh(session.credentials.expires)) return session.credentials;
  return (await exchange(config, auth, session)).credentials!;
}

// -- the contract with api.ts ---------------------------------------------------------------------

function signingService(config: ConsoleConfig, request: UnsignedRequest): string {
  const api = config.apiEndpoint ? new URL(config.apiEndpoint).origin : location.origin;
  return new URL(request.url).origin === api ? "execute-api" : request.service;
}

/** Resolves once this tab has credentials (see the contract above); may leave the page instead. */
export async function ready(config: ConsoleConfig): Promise<void> {
  if (config.auth) await credentials(config, config.auth);
}

export async function signRequest(config: ConsoleConfig, request: UnsignedRequest): Promise<Record<string, string>> {
  const auth = config.auth;
  if (!auth) throw new SignInError("signRequest needs config.auth (the cloud console's config.json)");
  const creds = await credentials(config, auth);
  const [{ SignatureV4 }, { Sha256 }] = await signing();
  const url = new URL(request.url);
  const service = signingService(config, request);
  const signer = new SignatureV4({
    service,
    uriEscapePath: service !== "s3", // S3 signs the path as sent; every other service escapes it again
    region: config.region,
    credentials: {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
    },
    sha256: Sha256,
  });
  const query: Record<string, string[]> = {};
  url.searchParams.forEach((value, name) => {
    (query[name] ??= []).push(value);
  });
  const signed = await signer.sign({
    method: request.method.toUpperCase(),
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers: { ...request.headers, host: url.host },
    body: request.method.toUpperCase() === "GET" ? undefined : request.body,
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    if (name.toLowerCase() !== "host") headers[name] = value; // the browser sends Host itself
  }
  return headers;
}

/** The signed-in user's e-mail (or username), or null before sign-in. */
export function signedIn(config: ConsoleConfig): string | null {
  if (!config.auth) return null;
  const session = load<Session>("session");
  if (!session?.tokens) return null;
  const claims = decodeClaims(session.tokens.idToken);
  const name = claims.email ?? claims["cognito:username"];
  return typeof name === "string" ? name : null;
}

/** Forget this tab's credentials, revoke the refresh token, and end the hosted UI's session. */
export function signOut(config: ConsoleConfig): void {
  const auth = config.auth;
  const session = load<Session>("session");
  forget("session");
  forget("pending");
  if (!auth) return;
  if (session?.tokens?.refreshToken) {
    void fetch(`${domain(auth)}/oauth2/revoke`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: session.tokens.refreshToken, client_id: auth.userPoolClientId }).toString(),
      credentials: "omit",
      keepalive: true,
    }).catch(() => undefined);
  }
  const query = new URLSearchParams({ client_id: auth.userPoolClientId, logout_uri: redirectUri() });
  location.assign(`${domain(auth)}/logout?${query}`);
}
