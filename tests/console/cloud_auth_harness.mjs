// Drives the bundled console/src/cloud-auth.ts in node as a browser tab would, against a fake
// Cognito (hosted UI token endpoint + Cognito Identity), and prints what happened as JSON for
// tests/console/test_cloud_auth.py, which checks the flow and verifies every signature with the
// repository's own SigV4 verifier (pipelines.api.identity).
//
// Usage: node cloud_auth_harness.mjs <bundle.mjs> <params.json>
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";

const [bundlePath, paramsPath] = process.argv.slice(2);
const params = JSON.parse(readFileSync(paramsPath, "utf8"));
const { config, deepLink, keys } = params;
const auth = config.auth;
const origin = new URL(deepLink).origin;

// -- a browser tab: location, history, sessionStorage --------------------------------------------
let href = deepLink;
const navigations = [];
const store = new Map();
globalThis.sessionStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};
globalThis.location = {
  get href() { return href; },
  get origin() { return new URL(href).origin; },
  get pathname() { return new URL(href).pathname; },
  get search() { return new URL(href).search; },
  get hash() { return new URL(href).hash; },
  assign: (url) => navigations.push({ kind: "assign", url: String(url) }),
  replace: (url) => navigations.push({ kind: "replace", url: String(url) }),
};

// -- time: Date.now moves on when the scenario says so (SigV4's own timestamps stay real) ------
const realNow = Date.now.bind(Date);
let offset = 0;
Date.now = () => realNow() + offset;

// -- fake Cognito ------------------------------------------------------------------------------------
const calls = [];
let challenge = null;
let tokenSerial = 0;
let keyIndex = 0;
const identityId = `${config.region}:11111111-2222-3333-4444-555555555555`;
const b64url = (buf) => Buffer.from(buf).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function idToken() {
  tokenSerial += 1;
  const claims = { sub: "user-1", email: "ada@example.com", exp: Math.floor(Date.now() / 1000) + 3600, serial: tokenSerial };
  return `${b64url(JSON.stringify({ alg: "none" }))}.${b64url(JSON.stringify(claims))}.sig`;
}
let currentIdToken = null;
let refreshFails = false;

function json(body, status = 200, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
}

globalThis.fetch = async (input, init = {}) => {
  const request = input instanceof Request ? input : new Request(input, init);
  const url = new URL(request.url);
  const body = await request.text();
  const headers = Object.fromEntries(request.headers.entries());
  if (url.origin === auth.cognitoDomain && url.pathname === "/oauth2/token") {
    const form = Object.fromEntries(new URLSearchParams(body));
    calls.push({ endpoint: "token", form });
    if (form.client_id !== auth.userPoolClientId) return json({ error: "invalid_client" }, 400);
    if (form.grant_type === "authorization_code") {
      const verified = challenge !== null && b64url(createHash("sha256").update(form.code_verifier).digest()) === challenge;
      if (form.code !== "CODE-1" || !verified || form.redirect_uri !== `${origin}/`) return json({ error: "invalid_grant" }, 400);
      currentIdToken = idToken();
      return json({ id_token: currentIdToken, access_token: "access", refresh_token: "REFRESH-1", expires_in: 3600, token_type: "Bearer" });
    }
    if (form.grant_type === "refresh_token") {
      if (form.refresh_token !== "REFRESH-1" || refreshFails) return json({ error: "invalid_grant" }, 400);
      currentIdToken = idToken();
      return json({ id_token: currentIdToken, access_token: "access", expires_in: 3600, token_type: "Bearer" });
    }
    return json({ error: "unsupported_grant_type" }, 400);
  }
  if (url.origin === auth.cognitoDomain && url.pathname === "/oauth2/revoke") {
    calls.push({ endpoint: "revoke", form: Object.fromEntries(new URLSearchParams(body)) });
    return new Response("", { status: 200 });
  }
  if (url.hostname === `cognito-identity.${config.region}.amazonaws.com`) {
    const target = headers["x-amz-target"];
    const input = JSON.parse(body);
    calls.push({ endpoint: target, input, signed: "authorization" in headers });
    const login = input.Logins?.[`cognito-idp.${config.region}.amazonaws.com/${auth.userPoolId}`];
    if (login !== currentIdToken) {
      return json({ __type: "NotAuthorizedException", message: "Invalid login token." }, 400, "application/x-amz-json-1.1");
    }
    if (target === "AWSCognitoIdentityService.GetId") {
      if (input.IdentityPoolId !== auth.identityPoolId) return json({ __type: "ResourceNotFoundException", message: "pool" }, 400, "application/x-amz-json-1.1");
      return json({ IdentityId: identityId }, 200, "application/x-amz-json-1.1");
    }
    if (target === "AWSCognitoIdentityService.GetCredentialsForIdentity") {
      const key = keys[Math.min(keyIndex, keys.length - 1)];
      keyIndex += 1;
      return json({
        IdentityId: input.IdentityId,
        Credentials: { AccessKeyId: key.id, SecretKey: key.secret, SessionToken: key.token, Expiration: Math.floor(Date.now() / 1000) + 15 * 60 },
      }, 200, "application/x-amz-json-1.1");
    }
  }
  return json({ message: `unexpected request ${request.method} ${url}` }, 599);
};

// -- the scenario --------------------------------------------------------------------------------
// A page load: a fresh copy of the module (a navigation resets a tab's module state).
let loads = 0;
const pageLoad = async () => import(`${pathToFileURL(bundlePath).href}?load=${++loads}`);
let auth_ = await pageLoad();
const settled = (promise, ms = 300) =>
  Promise.race([promise.then((v) => ({ value: v }), (e) => ({ error: String(e) })), new Promise((r) => setTimeout(() => r({ pending: true }), ms))]);
const apiRequest = (operation) => ({
  service: "sagemaker",
  method: "POST",
  url: `${config.apiEndpoint}/`,
  headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `SageMaker.${operation}` },
  body: JSON.stringify({ PipelineName: "abalone" }),
});
const out = { steps: {} };
const step = (name, value) => {
  out.steps[name] = { ...value, navigations: navigations.splice(0), calls: calls.splice(0), signedIn: auth_.signedIn(config) };
};

// 1. No session: the first call sends the tab to the hosted UI and never resolves.
let result = await settled(auth_.signRequest(config, apiRequest("DescribePipeline")));
const authorize = new URL(navigations[0].url);
challenge = authorize.searchParams.get("code_challenge");
step("redirect", { result });

// 2. The hosted UI calls back; the page's first two calls share one code exchange, then the tab
//    reloads at the deep link it asked for.
href = `${origin}/?code=CODE-1&state=${authorize.searchParams.get("state")}`;
auth_ = await pageLoad();
const first = settled(auth_.signRequest(config, apiRequest("ListPipelines")));
const second = settled(auth_.signRequest(config, apiRequest("ListPipelineExecutions")));
step("callback", { results: [await first, await second] });

// 3. The reload at the deep link: credentials from the identity pool, a signed API call.
href = deepLink;
auth_ = await pageLoad();
const signed = [];
const sign = async (request) => {
  const headers = await auth_.signRequest(config, request);
  signed.push({ request, headers });
  return headers;
};
await sign(apiRequest("DescribePipeline"));
step("credentials", {});

if (params.scenario === "refresh-fails") {
  // The session outlived its refresh token (revoked, or 12 hours passed): sign in again.
  offset += 2 * 60 * 60 * 1000;
  refreshFails = true;
  result = await settled(auth_.signRequest(config, apiRequest("ListPipelines")));
  step("expired", { result, stored: [...store.keys()] });
} else {
  // 4. Still valid: no new Cognito call.
  await sign(apiRequest("ListPipelineExecutionSteps"));
  await sign({ service: "scheduler", method: "GET", url: `${config.apiEndpoint}/schedules?MaxResults=5`, headers: { "X-Amz-User-Agent": "pipelines-console" }, body: "" });
  step("cached", {});

  // 5. Credentials (15 minutes here) within the renewal margin, the ID token not: new credentials.
  offset += 12 * 60 * 1000;
  await sign(apiRequest("DescribePipelineExecution"));
  step("renewed", {});

  // 6. The ID token (an hour) has expired too: the refresh token renews it first.
  offset += 50 * 60 * 1000;
  await sign({ service: "logs", method: "POST", url: `${config.endpoints.logs}/`, headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.GetLogEvents" }, body: "{\"logGroupName\":\"/aws/sagemaker/ProcessingJobs\"}" });
  step("refreshed", {});

  // 7. Sign out: the refresh token is revoked, the hosted UI session ended, nothing kept.
  auth_.signOut(config);
  await new Promise((r) => setTimeout(r, 50));
  step("signedOut", { stored: [...store.keys()] });
}

out.signed = signed;
out.identityId = identityId;
process.stdout.write(JSON.stringify(out));
