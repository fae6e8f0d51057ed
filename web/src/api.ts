// The MyCRT Captures API as the console uses it: only the public routes (pkg/api/openapi.yaml),
// with the bearer token kept in this tab's session storage (never a cookie the API would take
// from another site).

import {
  captureNameRule, compareSortValues, compareVerdictValues, components, createReplayModeValues, replayNameRule, reportSortValues,
  statusLiveValues, statusValues, tLSModeValues,
} from "./api.gen";

// The API's shapes, generated from openapi.yaml into api.gen.ts (make client).
type Schemas = components["schemas"];
export type Status = Schemas["Status"];
export type Capture = Schemas["Capture"];
export type CreateCapture = Schemas["CreateCapture"];
export type Environment = Schemas["Environment"];
export type CreateEnvironment = Schemas["CreateEnvironment"];
export type EditEnvironment = Schemas["EditEnvironment"];
export type EnvironmentCheck = Schemas["EnvironmentCheck"];
export type Member = Schemas["Member"];
export type Metric = Schemas["Metric"];
export type Digest = Schemas["Digest"];
export type Replay = Schemas["Replay"];
export type CreateReplay = Schemas["CreateReplay"];
export type ReplayReport = Schemas["ReplayReport"];
export type ReplayComparison = Schemas["ReplayComparison"];
export type CompareVerdict = Schemas["CompareVerdict"];
export type ErrorCodes = Schemas["ErrorCodes"];
export type LatencyMs = Schemas["LatencyMs"];
type ErrorBody = Schemas["Error"];

/** Every status, in lifecycle order; every TLS mode, weakest first (both from the API's lists). */
export const statuses = statusValues;
export const tlsModes = tLSModeValues;
/** The capture name rule: a pattern, and the same in words; the replay name rule (it takes '.' too). */
export const nameRule = captureNameRule;
export const replayRule = replayNameRule;
/** The replay modes, all first (the default). */
export const replayModes = createReplayModeValues;
/** A report's orders, a comparison's orders and its verdicts, worst first (the API's lists). */
export const reportSorts = reportSortValues;
export const compareSorts = compareSortValues;
export const verdicts = compareVerdictValues;

/** live is whether a capture in status s has yet to end (Status.Live in Go): not DONE or FAILED. */
export const live = (s: Status) => statusLiveValues.includes(s);

/** ApiError is the API's {"code", "message"} answer, worded as the API words it. */
export class ApiError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const tokenKey = "mycrt.token";
const userKey = "mycrt.user";
const refreshKey = "mycrt.refresh";
const expiresKey = "mycrt.expires";
const pkceKey = "mycrt.pkce";

/** Cognito is how the deployed console signs people in: the stack writes /config.json. */
export interface Cognito {
  domain: string; // https://<prefix>.auth.<region>.amazoncognito.com
  clientId: string;
}

let config: Promise<Cognito | null> | undefined;

/** cognito reads /config.json once: null where there is none (make run signs in locally). */
export function cognito(): Promise<Cognito | null> {
  config ??= fetch("/config.json")
    .then(async (r) => (r.ok ? ((await r.json()).cognito ?? null) : null))
    .catch(() => null);
  return config;
}

export function signedIn(): string | null {
  return sessionStorage.getItem(tokenKey) ? sessionStorage.getItem(userKey) : null;
}

/**
 * signOut forgets the tokens; with Cognito it first revokes the refresh token (so a copy of it
 * renews nothing), then ends the Hosted UI's session. A revocation that fails does not keep
 * anyone signed in here: it is logged in the browser's console, and the sign-out goes on.
 */
export async function signOut(): Promise<void> {
  const refresh = sessionStorage.getItem(refreshKey);
  for (const k of [tokenKey, userKey, refreshKey, expiresKey]) sessionStorage.removeItem(k);
  const c = await cognito();
  if (!c) return;
  if (refresh) {
    try {
      const resp = await fetch(`${c.domain}/oauth2/revoke`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: refresh, client_id: c.clientId }),
      });
      if (!resp.ok) console.warn(`Cognito did not revoke the refresh token: ${resp.status}`);
    } catch (e) {
      console.warn(`Cognito could not be reached to revoke the refresh token: ${(e as Error).message}`);
    }
  }
  location.assign(`${c.domain}/logout?client_id=${encodeURIComponent(c.clientId)}&logout_uri=${encodeURIComponent(redirectURI())}`);
}

/** signIn gets a token from the local sign-in route that only `make run` serves. */
export async function signIn(user: string): Promise<void> {
  const resp = await fetch("/local/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user }),
  });
  if (resp.status === 404) {
    throw new ApiError(404, "This server has no local sign-in: on AWS, sign in through Cognito.");
  }
  const body = await resp.json();
  if (!resp.ok) throw new ApiError(body.code ?? resp.status, body.message ?? resp.statusText);
  sessionStorage.setItem(tokenKey, body.token);
  sessionStorage.setItem(userKey, user);
}

const redirectURI = () => location.origin + "/";

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(n: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

/**
 * signInWithCognito goes to the Hosted UI with the authorization code grant and PKCE: the
 * verifier and a state stay in this tab's session storage until Cognito sends it back.
 */
export async function signInWithCognito(c: Cognito): Promise<void> {
  const verifier = randomString(48);
  const state = randomString(16);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem(pkceKey, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({
    response_type: "code", client_id: c.clientId, redirect_uri: redirectURI(), scope: "openid email profile",
    code_challenge_method: "S256", code_challenge: challenge, state,
  });
  location.assign(`${c.domain}/oauth2/authorize?${q}`);
}

/**
 * completeSignIn takes the code Cognito sent back (?code=...&state=...), if any, and trades it
 * for tokens; it reports whether it did.
 */
export async function completeSignIn(c: Cognito): Promise<boolean> {
  const q = new URLSearchParams(location.search);
  const code = q.get("code");
  if (!code) return false;
  history.replaceState(null, "", location.pathname + location.hash); // the code is used once
  const kept = JSON.parse(sessionStorage.getItem(pkceKey) ?? "{}");
  sessionStorage.removeItem(pkceKey);
  if (!kept.verifier || kept.state !== q.get("state")) throw new ApiError(400, "The sign-in answer does not match the sign-in this tab started: sign in again.");
  await token(c, { grant_type: "authorization_code", code, redirect_uri: redirectURI(), code_verifier: kept.verifier });
  return true;
}

/** token asks Cognito's token endpoint for tokens and keeps them. */
async function token(c: Cognito, form: Record<string, string>): Promise<void> {
  const resp = await fetch(`${c.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...form, client_id: c.clientId }),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(resp.status, `Sign-in failed: ${body.error ?? resp.statusText}`);
  // The API's authorizer takes the ID token: it names the user (cognito:username).
  sessionStorage.setItem(tokenKey, body.id_token);
  const id = claims(body.id_token);
  sessionStorage.setItem(userKey, String(id["cognito:username"] ?? id.email ?? id.sub));
  sessionStorage.setItem(expiresKey, String(Date.now() + (body.expires_in ?? 3600) * 1000));
  if (body.refresh_token) sessionStorage.setItem(refreshKey, body.refresh_token);
}

/** fresh renews the ID token a minute before it expires, when there is a refresh token. */
async function fresh(): Promise<void> {
  const refresh = sessionStorage.getItem(refreshKey);
  const expires = Number(sessionStorage.getItem(expiresKey) ?? 0);
  if (!refresh || Date.now() < expires - 60_000) return;
  const c = await cognito();
  if (c) await token(c, { grant_type: "refresh_token", refresh_token: refresh });
}

/** claims reads a JWT's payload (not verifying it: the API does): the console's own token. */
function claims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return {};
  }
}

/**
 * me is the signed-in user's id, their token's sub: what memberships and ownerId hold (on
 * Cognito it is a UUID, not the user name), or null when signed out.
 */
export function me(): string | null {
  const t = sessionStorage.getItem(tokenKey);
  const sub = t ? claims(t).sub : undefined;
  return typeof sub === "string" ? sub : null;
}

async function request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  await fresh();
  const headers: Record<string, string> = { Authorization: `Bearer ${sessionStorage.getItem(tokenKey) ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  if (resp.ok) return resp;
  let message = `${resp.status} ${resp.statusText}`;
  let code = resp.status;
  try {
    const e: Partial<ErrorBody> = await resp.json();
    if (typeof e.message === "string") message = e.message;
    if (typeof e.code === "number") code = e.code;
  } catch {
    // not JSON: the status says it
  }
  if (resp.status === 401) for (const k of [tokenKey, userKey, refreshKey, expiresKey]) sessionStorage.removeItem(k);
  throw new ApiError(code, message);
}

async function json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  return (await request(method, path, body, signal)).json() as Promise<T>;
}

/** Page is one page of a list: its items, and the next page's URL (RFC 8288 Link, rel="next"), if any. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** nextLink finds the rel="next" URL in a Link header. */
export function nextLink(link: string | null): string | null {
  for (const part of (link ?? "").split(",")) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(^|;)\s*rel="?next"?\s*(;|$)/.test(m[2])) return m[1];
  }
  return null;
}

async function page<T>(path: string, signal?: AbortSignal): Promise<Page<T>> {
  const resp = await request("GET", path, undefined, signal);
  return { items: (await resp.json()) as T[], next: nextLink(resp.headers.get("Link")) };
}

/** query makes "?k=v&…" of the parameters given (empty, undefined and null left out), or "". */
function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}

/** DigestQuery is what a digest page asks for: its size, order and the accounts and database it covers. */
export interface DigestQuery {
  limit?: number;
  sort?: string;
  user?: string;
  database?: string;
}

/**
 * api calls the public routes. A list is read a page at a time: a first page by its query, the
 * next ones by the URL the last one's Link header gave (next). signal cancels a read.
 */
export const api = {
  captures: (q: { envId?: number; search?: string; limit?: number }, signal?: AbortSignal) =>
    page<Capture>("/api/captures" + query(q), signal),
  capture: (id: number, signal?: AbortSignal) => json<Capture>("GET", `/api/captures/${id}`, undefined, signal),
  createCapture: (body: CreateCapture) => json<Capture>("POST", "/api/captures", body),
  renameCapture: (id: number, name: string) => json<Capture>("PUT", `/api/captures/${id}`, { name }),
  stopCapture: (id: number) => json<Capture>("POST", `/api/captures/${id}/stop`),
  /** deleteCapture deletes the capture, and with deleteLogs its files (workload and metrics). */
  deleteCapture: (id: number, deleteLogs: boolean) =>
    request("DELETE", `/api/captures/${id}` + (deleteLogs ? "?deleteLogs=true" : "")),
  metrics: (id: number, signal?: AbortSignal) => json<Metric[]>("GET", `/api/captures/${id}/metrics`, undefined, signal),
  /** digest reads a page of the capture's digest: its summary, and fingerprints in q's order. */
  digest: async (id: number, q: DigestQuery, signal?: AbortSignal) => {
    const resp = await request("GET", `/api/captures/${id}/digest` + query({ ...q }), undefined, signal);
    return { digest: (await resp.json()) as Digest, next: nextLink(resp.headers.get("Link")) };
  },
  /** digestNext reads the digest page a Link header named. */
  digestNext: async (next: string, signal?: AbortSignal) => {
    const resp = await request("GET", next, undefined, signal);
    return { digest: (await resp.json()) as Digest, next: nextLink(resp.headers.get("Link")) };
  },
  /** workload fetches the workload file (through the API locally, or the link it redirects to). */
  workload: async (id: number) => (await request("GET", `/api/captures/${id}/workload`)).blob(),

  environments: (q: { limit?: number }, signal?: AbortSignal) => page<Environment>("/api/environments" + query(q), signal),
  /** allEnvironments reads every page of the caller's environments (names for every list). */
  allEnvironments: async (signal?: AbortSignal) => {
    let p = await page<Environment>("/api/environments?limit=1000", signal);
    const out = [...p.items];
    while (p.next) {
      p = await page<Environment>(p.next, signal);
      out.push(...p.items);
    }
    return out;
  },
  environment: (id: number, signal?: AbortSignal) => json<Environment>("GET", `/api/environments/${id}`, undefined, signal),
  createEnvironment: (body: CreateEnvironment) => json<Environment>("POST", "/api/environments", body),
  editEnvironment: (id: number, body: EditEnvironment) => json<Environment>("PUT", `/api/environments/${id}`, body),
  checkEnvironment: (id: number) => json<EnvironmentCheck>("POST", `/api/environments/${id}/check`),
  deleteEnvironment: (id: number) => request("DELETE", `/api/environments/${id}`),
  members: (id: number, signal?: AbortSignal) => json<Member[]>("GET", `/api/environments/${id}/users`, undefined, signal),
  /** addMember adds a user by user name, email or id. */
  addMember: (id: number, user: string, isAdmin: boolean) =>
    json<Member>("POST", `/api/environments/${id}/users`, { user, isAdmin }),
  /** removeMember removes the member with this id (their sub). */
  removeMember: (id: number, user: string) =>
    request("DELETE", `/api/environments/${id}/users/${encodeURIComponent(user)}`),
  replays: (q: { captureId?: number; envId?: number }, signal?: AbortSignal) => json<Replay[]>("GET", "/api/replays" + query(q), undefined, signal),
  replay: (id: number, signal?: AbortSignal) => json<Replay>("GET", `/api/replays/${id}`, undefined, signal),
  createReplay: (body: CreateReplay) => json<Replay>("POST", "/api/replays", body),
  renameReplay: (id: number, name: string) => json<Replay>("PUT", `/api/replays/${id}`, { name }),
  stopReplay: (id: number) => json<Replay>("POST", `/api/replays/${id}/stop`),
  /** deleteReplay deletes the replay (stopping it first), and with deleteLogs its files (plan, shards, outcomes). */
  deleteReplay: (id: number, deleteLogs: boolean) => request("DELETE", `/api/replays/${id}` + (deleteLogs ? "?deleteLogs=true" : "")),
  /** report reads what a replay did, by fingerprint: the first limit in sort's order. */
  report: (id: number, q: { limit?: number; sort?: string }, signal?: AbortSignal) =>
    json<ReplayReport>("GET", `/api/replays/${id}/report` + query(q), undefined, signal),
  /** compare reads two replays of one capture side by side, fingerprint by fingerprint. */
  compare: (q: { base: number; candidate: number; limit?: number; sort?: string; verdict?: string }, signal?: AbortSignal) =>
    json<ReplayComparison>("GET", "/api/replays/compare" + query(q), undefined, signal),
  replayMetrics: (id: number, signal?: AbortSignal) => json<Metric[]>("GET", `/api/replays/${id}/metrics`, undefined, signal),

  /** next reads the next page of a list, from the URL its last page's Link header gave. */
  next: <T>(url: string, signal?: AbortSignal) => page<T>(url, signal),
};
