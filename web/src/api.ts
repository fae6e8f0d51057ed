// The MyCRT Captures API as the console uses it: only the public routes (pkg/api/openapi.yaml),
// with the bearer token kept in this tab's session storage (never a cookie the API would take
// from another site).

export type Status = "SCHEDULED" | "STARTING" | "STARTED" | "RUNNING" | "STOPPING" | "DONE" | "FAILED";

export interface Capture {
  id: number;
  envId: number;
  name: string;
  ownerId: string;
  status: Status;
  start: string | null;
  end: string | null;
  scheduledStart: string | null;
  scheduledEnd: string | null;
  reason: string | null;
  workload?: { statements: number; bytes: number } | null;
}

export interface Environment {
  id: number;
  envName: string;
  ownerId: string;
  host: string;
  port: number;
  dbName: string;
  user: string;
  tls: string;
  instance: string | null;
  parameterGroup: string | null;
  generalLog?: { holders: number[]; restorePending: boolean; lastError: string | null };
}

export interface Member {
  user: string;
  isAdmin: boolean;
}

export interface Metric {
  label: string;
  type: string;
  displayName: string;
  dataPoints: { Timestamp: string; Maximum: number; Unit: string }[];
}

export interface Fingerprint {
  id: string;
  fingerprint: string;
  count: number;
  share: number;
  firstSeen: string;
  lastSeen: string;
  users: Record<string, number>;
  databases: Record<string, number>;
  sample: string;
}

export interface Digest {
  statements: number;
  sessions: number;
  complete: boolean;
  fingerprints: Fingerprint[];
  timeline: { bucketSeconds: number; points: { time: string; statements: number }[] };
}

/** ApiError is the API's {"code", "message"} answer, worded as the API words it. */
export class ApiError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const tokenKey = "mycrt.token";
const userKey = "mycrt.user";

export function signedIn(): string | null {
  return sessionStorage.getItem(tokenKey) ? sessionStorage.getItem(userKey) : null;
}

export function signOut(): void {
  sessionStorage.removeItem(tokenKey);
  sessionStorage.removeItem(userKey);
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

async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${sessionStorage.getItem(tokenKey) ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.ok) return resp;
  let message = `${resp.status} ${resp.statusText}`;
  let code = resp.status;
  try {
    const e = await resp.json();
    if (typeof e.message === "string") message = e.message;
    if (typeof e.code === "number") code = e.code;
  } catch {
    // not JSON: the status says it
  }
  if (resp.status === 401) signOut();
  throw new ApiError(code, message);
}

async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await request(method, path, body)).json() as Promise<T>;
}

export const api = {
  captures: (envId?: number, name?: string) => {
    const q = new URLSearchParams();
    if (envId) q.set("envId", String(envId));
    if (name) q.set("name", name);
    const qs = q.toString();
    return json<Capture[]>("GET", "/api/captures" + (qs ? "?" + qs : ""));
  },
  capture: (id: number) => json<Capture>("GET", `/api/captures/${id}`),
  createCapture: (body: { envId: number; name: string; scheduledStart?: string; duration?: number }) =>
    json<Capture>("POST", "/api/captures", body),
  renameCapture: (id: number, name: string) => json<Capture>("PUT", `/api/captures/${id}`, { name }),
  stopCapture: (id: number) => json<Capture>("POST", `/api/captures/${id}/stop`),
  deleteCapture: (id: number, workload: boolean) =>
    request("DELETE", `/api/captures/${id}` + (workload ? "?deleteLogs=true" : "")),
  metrics: (id: number) => json<Metric[]>("GET", `/api/captures/${id}/metrics`),
  digest: (id: number, limit = 10) => json<Digest>("GET", `/api/captures/${id}/digest?limit=${limit}`),
  /** workload fetches the workload file (through the API locally, or the link it redirects to). */
  workload: async (id: number) => (await request("GET", `/api/captures/${id}/workload`)).blob(),

  environments: () => json<Environment[]>("GET", "/api/environments"),
  environment: (id: number) => json<Environment>("GET", `/api/environments/${id}`),
  createEnvironment: (body: Record<string, unknown>) => json<Environment>("POST", "/api/environments", body),
  deleteEnvironment: (id: number) => request("DELETE", `/api/environments/${id}`),
  members: (id: number) => json<Member[]>("GET", `/api/environments/${id}/users`),
  addMember: (id: number, user: string, isAdmin: boolean) =>
    json<Member>("POST", `/api/environments/${id}/users`, { user, isAdmin }),
  removeMember: (id: number, user: string) =>
    request("DELETE", `/api/environments/${id}/users/${encodeURIComponent(user)}`),
};

export const live = (s: Status) => !["DONE", "FAILED"].includes(s);
