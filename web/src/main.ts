// The MyCRT Captures console: environments and captures over the public API, one hash route per
// screen (#/captures, #/captures/7, #/environments, #/environments/3, #/signin).
import "./style.css";
import {
  api, ApiError, Capture, cognito, completeSignIn, CreateCapture, CreateEnvironment, Environment, live, nameRule,
  signedIn, signIn, signInWithCognito, signOut, Status, statuses, tlsModes,
} from "./api";
import { chart, seconds } from "./charts";

type Child = Node | string | null | undefined | false;

/** h makes an element: h("a", {href: "#/"}, "text"); "on*" attributes take listeners. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const app = document.getElementById("app")!;

/** Every screen polls while it shows something live; a new screen stops the last one's. */
let timers: number[] = [];
function every(ms: number, fn: () => Promise<void>) {
  timers.push(window.setInterval(() => fn().catch(showError), ms));
}

function showError(e: unknown) {
  const message = e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
  if (e instanceof ApiError && e.code === 401) {
    location.hash = "#/signin";
    return;
  }
  let box = document.getElementById("error");
  if (!box) {
    box = h("p", { id: "error", class: "error", role: "alert" });
    app.prepend(box);
  }
  box.textContent = message;
}

function clearError() {
  document.getElementById("error")?.remove();
}

const fmtTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "–");
const fmtBytes = (n: number) =>
  n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;

function badge(s: Status) {
  return h("span", { class: `badge s-${s.toLowerCase()}`, "data-status": s }, s);
}

/** form reads a form's named fields. */
function fields(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => (out[k] = String(v)));
  return out;
}

const namePattern = new RegExp(nameRule.pattern);

/** nameInput is a capture name's field, checked against the API's name rule as it is typed. */
function nameInput(value?: string) {
  const input = h("input", { name: "name", value, required: true, maxlength: 25, title: nameRule.description });
  input.addEventListener("input", () =>
    input.setCustomValidity(!input.value || namePattern.test(input.value) ? "" : `Name must be ${nameRule.description}`));
  return input;
}

/** fieldError shows message under the form's field named name, or above the form. */
function fieldError(form: HTMLFormElement, name: string | null, message: string) {
  form.querySelectorAll(".field-error").forEach((e) => e.remove());
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  const input = name ? (form.elements.namedItem(name) as HTMLElement | null) : null;
  const msg = h("p", { class: "field-error", role: "alert" }, message);
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.closest("label")?.after(msg);
    input.focus();
  } else {
    form.prepend(msg);
  }
}

/** fieldOf finds which field an API message is about: the API names it first ("host is required"). */
function fieldOf(message: string, names: Record<string, string>): string | null {
  const first = message.split(/[ :]/)[0];
  return names[first] ?? null;
}

// ---- sign-in ----

async function signInScreen() {
  const c = await cognito();
  if (c) {
    app.replaceChildren(h("div", { class: "card narrow" },
      h("h1", {}, "Sign in"),
      h("p", { class: "hint" }, "You sign in with your MyCRT account on its sign-in page, then come back here."),
      h("button", { id: "cognito-sign-in", onclick: () => signInWithCognito(c).catch(showError) }, "Sign in")));
    return;
  }
  const form = h("form", { class: "card narrow" },
    h("h1", {}, "Sign in"),
    h("p", { class: "hint" }, "This is make run's local sign-in: any user name you choose. On AWS, Cognito signs you in."),
    h("label", {}, "User name", h("input", { name: "user", required: true, autocomplete: "username", autofocus: true, maxlength: 64 })),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await signIn(fields(form).user.trim());
      location.hash = "#/captures";
    } catch (e) {
      fieldError(form, "user", (e as Error).message);
    }
  });
  app.replaceChildren(form);
}

// ---- captures ----

async function capturesScreen() {
  const envs = await api.environments();
  const envName = new Map(envs.map((e) => [e.id, e.envName]));
  // The list's search (not a capture's recording filters, which decide what it records).
  const search = h("form", { class: "search", role: "search" },
    h("label", {}, "Environment", h("select", { name: "env" }, h("option", { value: "" }, "All"),
      ...envs.map((e) => h("option", { value: e.id }, e.envName)))),
    h("label", {}, "Name", h("input", { name: "name", type: "search", placeholder: "exact name" })),
    h("label", {}, "Status", h("select", { name: "status" }, h("option", { value: "" }, "Any"),
      ...statuses.map((s) => h("option", { value: s }, s)))));
  const list = h("div", { id: "captures" });
  const refresh = async () => {
    const f = fields(search);
    let caps = await api.captures(Number(f.env) || undefined, f.name.trim() || undefined);
    if (f.status) caps = caps.filter((c) => c.status === f.status);
    list.replaceChildren(capturesTable(caps, envName, envs.length, refresh));
  };
  search.addEventListener("input", () => refresh().catch(showError));
  search.addEventListener("submit", (ev) => ev.preventDefault());
  app.replaceChildren(
    h("h1", {}, "Captures"),
    ...(envs.length ? [newCaptureForm(envs, refresh)] : []),
    search, list);
  await refresh();
  every(2000, refresh); // live status without a reload
}

function capturesTable(caps: Capture[], envName: Map<number, string>, nEnvs: number, refresh: () => Promise<void>) {
  if (caps.length === 0) {
    return h("p", { class: "empty" }, nEnvs === 0
      ? h("span", {}, "No captures yet, and no environment to record: ", h("a", { href: "#/environments" }, "add the database you want to record"), " first.")
      : "No captures match. Record one with the form above: now, or at a time you choose.");
  }
  return h("table", { class: "list" },
    h("thead", {}, h("tr", {}, ...["Capture", "Environment", "Status", "Start", "End", "Statements", "Size", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, ...caps.map((c) => h("tr", { "data-capture": c.id },
      h("td", { "data-label": "Capture" }, h("a", { href: `#/captures/${c.id}` }, c.name)),
      h("td", { "data-label": "Environment" }, envName.get(c.envId) ?? String(c.envId)),
      h("td", { "data-label": "Status" }, badge(c.status)),
      h("td", { "data-label": "Start" }, fmtTime(c.start ?? c.scheduledStart)),
      h("td", { "data-label": "End" }, fmtTime(c.end ?? c.scheduledEnd)),
      h("td", { "data-label": "Statements", class: "num" }, c.workload ? c.workload.statements.toLocaleString() : "–"),
      h("td", { "data-label": "Size", class: "num" }, c.workload?.bytes ? fmtBytes(c.workload.bytes) : "–"),
      h("td", { class: "actions" }, live(c.status)
        ? h("button", { class: "small", onclick: () => api.stopCapture(c.id).then(refresh).catch(showError) }, "Stop")
        : null)))));
}

function newCaptureForm(envs: Environment[], refresh: () => Promise<void>) {
  const at = h("input", { name: "at", type: "datetime-local", disabled: true });
  const form = h("form", { class: "card", id: "new-capture" },
    h("h2", {}, "Record"),
    h("div", { class: "row" },
      h("label", {}, "Environment", h("select", { name: "envId" }, ...envs.map((e) => h("option", { value: e.id }, e.envName)))),
      h("label", {}, "Name", nameInput()),
      h("label", {}, "Duration (minutes)", h("input", { name: "duration", type: "number", min: 1, step: "any", placeholder: "until stopped" }))),
    h("div", { class: "row" },
      h("label", { class: "inline" }, h("input", { type: "radio", name: "when", value: "now", checked: true }), "Now"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "when", value: "at" }), "At (your time zone)"),
      h("label", {}, "Start", at)),
    h("button", { type: "submit" }, "Create capture"));
  form.addEventListener("change", () => (at.disabled = fields(form).when !== "at"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = fields(form);
    const body: CreateCapture = { envId: Number(f.envId), name: f.name };
    if (f.when === "at") {
      if (!f.at) return fieldError(form, "at", "Choose when it starts.");
      body.scheduledStart = new Date(f.at).toISOString(); // the browser's zone, sent as UTC
    }
    if (f.duration) body.duration = Math.round(Number(f.duration) * 60);
    try {
      await api.createCapture(body);
      form.reset();
      at.disabled = true;
      clearError();
      await refresh();
    } catch (e) {
      fieldError(form, fieldOf((e as Error).message, { name: "name", duration: "duration", scheduledStart: "at", envId: "envId" }), (e as Error).message);
    }
  });
  return form;
}

async function captureScreen(id: number) {
  const head = h("div", {});
  const metrics = h("section", { class: "charts", id: "metrics" });
  const digest = h("section", { id: "digest" });
  app.replaceChildren(h("p", {}, h("a", { href: "#/captures" }, "← Captures")), head,
    h("h2", {}, "Metrics"), metrics, h("h2", {}, "Statements"), digest);
  let last = "";
  const refresh = async () => {
    const c = await api.capture(id);
    const shown = JSON.stringify(c);
    if (shown === last) return;
    last = shown;
    head.replaceChildren(captureHead(c));
    await Promise.all([drawMetrics(c, metrics), drawDigest(c, digest)]);
  };
  await refresh();
  every(2000, refresh); // redrawn only when the capture changed: a collection, a status
}

function captureHead(c: Capture) {
  const rename = h("form", { class: "inline-form", id: "rename" },
    h("label", {}, "Name", nameInput(c.name)),
    h("button", { type: "submit", class: "small" }, "Rename"));
  rename.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api.renameCapture(c.id, fields(rename).name);
      clearError();
    } catch (e) {
      fieldError(rename, "name", (e as Error).message);
    }
  });
  const deleteLogs = h("input", { type: "checkbox", name: "deleteLogs" });
  const download = h("button", { class: "small", disabled: !c.workload?.bytes, onclick: async () => {
    try {
      const blob = await api.workload(c.id);
      const a = h("a", { href: URL.createObjectURL(blob), download: `capture-${c.id}.jsonl.gz` });
      a.click();
      URL.revokeObjectURL(a.href);
    } catch (e) {
      showError(e);
    }
  } }, "Download workload");
  return h("div", { class: "card" },
    h("h1", {}, c.name, " ", badge(c.status)),
    c.reason ? h("p", { class: "reason" }, c.reason) : null,
    h("dl", { class: "facts" },
      h("dt", {}, "Scheduled"), h("dd", {}, `${fmtTime(c.scheduledStart)} → ${fmtTime(c.scheduledEnd)}`),
      h("dt", {}, "Recorded"), h("dd", {}, `${fmtTime(c.start)} → ${fmtTime(c.end)}`),
      h("dt", {}, "Workload"), h("dd", { id: "workload" }, c.workload
        ? `${c.workload.statements.toLocaleString()} statements${c.workload.bytes ? ", " + fmtBytes(c.workload.bytes) : ""}`
        : "nothing yet")),
    h("div", { class: "row" },
      rename,
      live(c.status) ? h("button", { class: "small", onclick: () => api.stopCapture(c.id).catch(showError) }, "Stop") : null,
      download,
      h("span", { class: "danger" },
        h("label", { class: "inline" }, deleteLogs, "also delete its files (workload and metrics)"),
        h("button", { class: "small danger", onclick: async () => {
          if (!confirm(`Delete capture ${c.name}?`)) return;
          try {
            await api.deleteCapture(c.id, deleteLogs.checked);
            location.hash = "#/captures";
          } catch (e) {
            showError(e);
          }
        } }, "Delete"))));
}

async function drawMetrics(c: Capture, target: HTMLElement) {
  if (!c.start) {
    target.replaceChildren(h("p", { class: "empty" }, "Metrics appear once the capture starts recording."));
    return;
  }
  const series = await api.metrics(c.id);
  const w = { start: seconds(c.start), end: seconds(c.end) };
  target.replaceChildren();
  for (const m of series) {
    const box = h("figure", { class: "chart", "data-metric": m.type });
    target.append(box);
    const times = m.dataPoints.map((p) => Date.parse(p.Timestamp) / 1000);
    const unit = m.dataPoints[0]?.Unit ?? "";
    if (!chart(box, m.displayName, unit, times, m.dataPoints.map((p) => p.Maximum), w)) {
      box.append(h("figcaption", {}, `${m.displayName}: no points yet`));
    }
  }
}

async function drawDigest(c: Capture, target: HTMLElement) {
  if (!c.start) {
    target.replaceChildren(h("p", { class: "empty" }, "Statements appear once the capture has recorded some."));
    return;
  }
  const d = await api.digest(c.id, 10);
  if (d.statements === 0) {
    target.replaceChildren(h("p", { class: "empty" }, live(c.status)
      ? "No statements recorded yet: they appear here as the server runs them."
      : "This capture recorded no statements."));
    return;
  }
  const timeline = h("figure", { class: "chart", id: "timeline" });
  const top = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k]) => k).join(", ");
  target.replaceChildren(
    h("p", {}, `${d.statements.toLocaleString()} statements from ${d.sessions.toLocaleString()} sessions${d.complete ? "" : " so far"}.`),
    timeline,
    h("table", { class: "list digest" },
      h("thead", {}, h("tr", {}, ...["Count", "Share", "Fingerprint", "First seen", "Last seen", "Users", "Databases"].map((t) => h("th", {}, t)))),
      h("tbody", {}, ...d.fingerprints.map((f) => h("tr", { "data-fingerprint": f.id },
        h("td", { class: "num", "data-label": "Count" }, f.count.toLocaleString()),
        h("td", { "data-label": "Share" }, h("span", { class: "share" }, h("span", { style: `width:${(f.share * 100).toFixed(1)}%` })), ` ${(f.share * 100).toFixed(1)}%`),
        h("td", { "data-label": "Fingerprint" }, h("code", { title: f.sample }, f.fingerprint), h("details", {}, h("summary", {}, "sample"), h("code", {}, f.sample))),
        h("td", { "data-label": "First seen" }, fmtTime(f.firstSeen)),
        h("td", { "data-label": "Last seen" }, fmtTime(f.lastSeen)),
        h("td", { "data-label": "Users" }, top(f.users)),
        h("td", { "data-label": "Databases" }, top(f.databases)))))));
  const b = d.timeline.bucketSeconds;
  chart(timeline, "Statements per second", "stmt/s",
    d.timeline.points.map((p) => Date.parse(p.time) / 1000), d.timeline.points.map((p) => p.statements / b),
    { start: seconds(c.start), end: seconds(c.end) });
}

// ---- environments ----

async function environmentsScreen() {
  const envs = await api.environments();
  const form = environmentForm();
  app.replaceChildren(h("h1", {}, "Environments"), form,
    envs.length === 0
      ? h("p", { class: "empty" }, "No environments yet. Add the MySQL or MariaDB you want to record with the form above; the account needs to read its general log.")
      : h("table", { class: "list" },
        h("thead", {}, h("tr", {}, ...["Environment", "Server", "Database", "As", "TLS", "Owner"].map((t) => h("th", {}, t)))),
        h("tbody", {}, ...envs.map((e) => h("tr", { "data-env": e.id },
          h("td", { "data-label": "Environment" }, h("a", { href: `#/environments/${e.id}` }, e.envName)),
          h("td", { "data-label": "Server" }, `${e.host}:${e.port}`),
          h("td", { "data-label": "Database" }, e.dbName),
          h("td", { "data-label": "As" }, e.user),
          h("td", { "data-label": "TLS" }, e.tls),
          h("td", { "data-label": "Owner" }, e.ownerId))))));
}

function environmentForm() {
  const form = h("form", { class: "card", id: "new-environment", novalidate: true },
    h("h2", {}, "Add an environment"),
    h("div", { class: "row" },
      h("label", {}, "Name", h("input", { name: "envName", required: true, maxlength: 100 })),
      h("label", {}, "Host", h("input", { name: "host", required: true, placeholder: "db.internal or an RDS endpoint" })),
      h("label", {}, "Port", h("input", { name: "port", type: "number", min: 1, max: 65535, placeholder: "3306" })),
      h("label", {}, "Database", h("input", { name: "dbName", required: true }))),
    h("div", { class: "row" },
      h("label", {}, "User", h("input", { name: "user", required: true, autocomplete: "off" })),
      h("label", {}, "Password", h("input", { name: "pass", type: "password", autocomplete: "new-password" })),
      h("label", {}, "TLS", h("select", { name: "tls" }, h("option", { value: "" }, "default"),
        ...tlsModes.map((m) => h("option", { value: m }, m))))),
    h("details", {}, h("summary", {}, "RDS"),
      h("div", { class: "row" },
        h("label", {}, "Instance", h("input", { name: "instance" })),
        h("label", {}, "Parameter group", h("input", { name: "parameterGroup" })))),
    h("button", { type: "submit" }, "Add environment"));
  const labels: Record<string, string> = { envName: "Name", host: "Host", dbName: "Database", user: "User" };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = fields(form);
    for (const [name, label] of Object.entries(labels)) {
      if (!f[name].trim()) return fieldError(form, name, `${label} is required.`);
    }
    const body: CreateEnvironment = { envName: f.envName, host: f.host.trim(), dbName: f.dbName, user: f.user, pass: f.pass };
    if (f.port) body.port = Number(f.port);
    if (f.tls) body.tls = f.tls;
    if (f.instance) body.instance = f.instance;
    if (f.parameterGroup) body.parameterGroup = f.parameterGroup;
    try {
      const env = await api.createEnvironment(body);
      location.hash = `#/environments/${env.id}`;
    } catch (e) {
      fieldError(form, fieldOf((e as Error).message, { envName: "envName", name: "envName", host: "host", port: "port", dbName: "dbName", user: "user", pass: "pass", tls: "tls", caCert: "tls", instance: "instance", parameterGroup: "parameterGroup" }), (e as Error).message);
    }
  });
  return form;
}

async function environmentScreen(id: number) {
  const [env, members] = await Promise.all([api.environment(id), api.members(id)]);
  const me = signedIn();
  const admin = members.some((m) => m.user === me && m.isAdmin);
  const log = env.generalLog;
  const add = h("form", { class: "inline-form", id: "add-member" },
    h("label", {}, "User", h("input", { name: "user", required: true })),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "isAdmin", value: "yes" }), "admin"),
    h("button", { type: "submit", class: "small" }, "Add member"));
  add.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = fields(add);
    try {
      await api.addMember(id, f.user.trim(), f.isAdmin === "yes");
      await environmentScreen(id);
    } catch (e) {
      fieldError(add, "user", (e as Error).message);
    }
  });
  app.replaceChildren(
    h("p", {}, h("a", { href: "#/environments" }, "← Environments")),
    h("div", { class: "card" },
      h("h1", {}, env.envName),
      h("dl", { class: "facts" },
        h("dt", {}, "Server"), h("dd", {}, `${env.host}:${env.port}, database ${env.dbName}, as ${env.user}`),
        h("dt", {}, "TLS"), h("dd", {}, env.tls),
        env.instance ? h("dt", {}, "RDS") : null, env.instance ? h("dd", {}, `${env.instance}, parameter group ${env.parameterGroup ?? "–"}`) : null,
        h("dt", {}, "General log"), h("dd", { id: "general-log" }, !log || log.holders.length === 0
          ? "not held by any capture" + (log?.restorePending ? "; its settings are still to be restored" : "")
          : `on for capture${log.holders.length > 1 ? "s" : ""} ${log.holders.join(", ")}`,
        log?.lastError ? h("span", { class: "reason" }, ` Last restore failed: ${log.lastError}`) : null),
        h("dt", {}, "Owner"), h("dd", {}, env.ownerId)),
      admin ? h("button", { class: "small danger", onclick: async () => {
        if (!confirm(`Delete environment ${env.envName}, its captures and their files?`)) return;
        try {
          await api.deleteEnvironment(id);
          location.hash = "#/environments";
        } catch (e) {
          showError(e);
        }
      } }, "Delete environment") : null),
    h("h2", {}, "Members"),
    h("table", { class: "list" },
      h("thead", {}, h("tr", {}, h("th", {}, "User"), h("th", {}, "Admin"), h("th", {}, ""))),
      h("tbody", {}, ...members.map((m) => h("tr", {},
        h("td", { "data-label": "User" }, m.user),
        h("td", { "data-label": "Admin" }, m.isAdmin ? "yes" : "no"),
        h("td", { class: "actions" }, admin && m.user !== me ? h("button", { class: "small", onclick: () =>
          api.removeMember(id, m.user).then(() => environmentScreen(id)).catch(showError) }, "Remove") : null))))),
    admin ? add : h("p", { class: "hint" }, "Only the environment's admins add and remove members."));
}

// ---- routing ----

async function route() {
  timers.forEach(clearInterval);
  timers = [];
  const who = signedIn();
  document.getElementById("who")!.replaceChildren(who
    ? h("span", {}, who, " ", h("button", { class: "link", onclick: () => signOut().then(() => (location.hash = "#/signin")) }, "Sign out"))
    : "");
  const path = location.hash.replace(/^#/, "") || "/captures";
  if (!who && path !== "/signin") {
    location.hash = "#/signin";
    return;
  }
  for (const a of document.querySelectorAll<HTMLAnchorElement>("[data-nav]")) {
    a.classList.toggle("current", path.startsWith("/" + a.dataset.nav));
  }
  const [, screen, id] = path.split("/");
  app.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    if (screen === "signin") await signInScreen();
    else if (screen === "captures" && id) await captureScreen(Number(id));
    else if (screen === "captures") await capturesScreen();
    else if (screen === "environments" && id) await environmentScreen(Number(id));
    else if (screen === "environments") await environmentsScreen();
    else app.replaceChildren(h("p", { class: "empty" }, "Nothing here. ", h("a", { href: "#/captures" }, "See your captures.")));
  } catch (e) {
    app.replaceChildren();
    showError(e);
  }
}

// Back from the Hosted UI with a code: trade it for tokens before the first screen.
async function start() {
  const c = await cognito();
  try {
    if (c && (await completeSignIn(c))) location.hash = "#/captures";
  } catch (e) {
    location.hash = "#/signin";
    await route();
    showError(e);
    return;
  }
  window.addEventListener("hashchange", route);
  await route();
}

start();
