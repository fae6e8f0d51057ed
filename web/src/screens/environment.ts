// #/environments/3: an environment, kept current: its connection and general log, "record
// here", its captures a page at a time, checking it again, editing its connection, and its
// members by name (compared by id, the token's sub).
import { api, Capture, EditEnvironment, Environment, EnvironmentCheck, me, Member, Replay } from "../api";
import { fields, h } from "../dom";
import { draw, pages, Screen, toSignIn, Watch } from "../screen";
import { back, describedBy, field, FormError, formError, message, screenError } from "../ui";
import { capturesTable } from "./captures";
import { connectionFields, required, requiredConnection, takeChecked, targetBox } from "./environments";
import { replaysTable } from "./replays";

const perPage = 10;

interface Read {
  env: Environment;
  members: Member[];
  caps: { items: Capture[]; next: string | null };
  replays: Replay[]; // replays into it (it is their target)
}

export const environmentScreen: Screen = (root, { id }) => {
  let r: Read | null = null;
  let want = perPage;
  let check: EnvironmentCheck | null = takeChecked(id);
  let checkWhen = check ? "when it was added" : "";
  let editErr: FormError | null = null;
  let memberErr: FormError | null = null;
  let status = "";
  const w = new Watch<Read>(
    async (signal) => {
      const [env, members, caps, replays] = await Promise.all([
        api.environment(id, signal), api.members(id, signal),
        pages((s) => api.captures({ envId: id, limit: perPage }, s), (u, s) => api.next<Capture>(u, s), want, signal),
        api.replays({ envId: id }, signal),
      ]);
      return { env, members, caps, replays };
    },
    (got) => (r = got),
    render,
  );
  const act = w.act;

  function render() {
    if (!r) return;
    const { env, members, caps, replays } = r;
    const sub = me();
    const admin = members.some((m) => m.user === sub && m.isAdmin);
    const log = env.generalLog;
    const names = new Map([[env.id, env.envName]]);
    draw(root, [
      back("#/environments", "Environments"),
      screenError(w.error),
      h("div", { class: "card", "data-key": "facts" },
        h("h1", {}, env.envName),
        h("dl", { class: "facts" },
          h("dt", {}, "Server"), h("dd", { id: "server" }, `${env.host}:${env.port}, database ${env.dbName}, as ${env.user}`),
          h("dt", {}, "TLS"), h("dd", {}, env.tls, env.tlsFingerprint ? h("small", { class: "hint" }, ` pinned ${env.tlsFingerprint}`) : null),
          env.target ? h("dt", {}, "Use") : null, env.target ? h("dd", {}, "replay target only") : null,
          env.instance ? h("dt", {}, "RDS") : null, env.instance ? h("dd", {}, `${env.instance}, parameter group ${env.parameterGroup ?? "–"}`) : null,
          h("dt", {}, "General log"), h("dd", { id: "general-log", role: "status" }, !log || log.holders.length === 0
            ? "not held by any capture" + (log?.restorePending ? "; its settings are still to be restored" : "")
            : h("span", {}, `on for capture${log.holders.length > 1 ? "s" : ""} `, ...log.holders.flatMap((c, i) => [i ? ", " : "", h("a", { href: `#/captures/${c}` }, String(c))])),
          log?.lastError ? h("span", { class: "reason" }, ` Last restore failed: ${log.lastError}`) : null),
          h("dt", {}, "Owner"), h("dd", {}, env.ownerName ?? env.ownerId)),
        h("div", { class: "row" },
          h("a", { class: "button", id: "record-here", href: `#/captures?env=${env.id}` }, "Record here"),
          h("button", { class: "small", id: "check", onclick: () => act(async () => {
            check = await api.checkEnvironment(id);
            checkWhen = "just now";
          }) }, "Check the database"),
          admin ? h("button", { class: "small danger", id: "delete-environment", onclick: () => {
            if (!confirm(`Delete environment ${env.envName}, its captures, the replays of them and into it, and their files? A running replay is stopped first.`)) return;
            void act(async () => {
              await api.deleteEnvironment(id);
              location.hash = "#/environments";
            });
          } }, "Delete environment") : null),
        checkView(check, checkWhen)),
      admin ? editForm(env) : null,
      h("h2", {}, "Captures"),
      caps.items.length === 0
        ? h("p", { class: "empty" }, "No captures of this environment yet: ", h("a", { href: `#/captures?env=${env.id}` }, "record one"), ".")
        : capturesTable(caps.items, names, (p) => void act(() => p)),
      caps.next ? h("button", { class: "more", id: "more-env-captures", onclick: () => {
        want = caps.items.length + perPage;
        void w.kick();
      } }, `Show ${perPage} more`) : null,
      replays.length ? h("h2", {}, "Replays into it") : null,
      replays.length ? replaysTable(replays, names, (p) => void act(() => p)) : null,
      h("h2", {}, "Members"),
      h("div", { class: "scroll" }, h("table", { class: "list", id: "members" },
        h("caption", { class: "sr-only" }, "Members"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "User"), h("th", { scope: "col" }, "Admin"), h("th", { scope: "col" }, "Actions"))),
        h("tbody", {}, ...members.map((m) => {
          const name = m.name ?? m.user;
          return h("tr", { "data-member": m.user, "data-key": `member-${m.user}` },
            h("th", { scope: "row" }, name, m.user === sub ? h("small", { class: "hint" }, " (you)") : null),
            h("td", {}, m.isAdmin ? "yes" : "no"),
            h("td", { class: "actions" }, admin && m.user !== sub
              ? h("button", { class: "small", "aria-label": `Remove ${name}`, onclick: () => act(() => api.removeMember(id, m.user)) }, "Remove")
              : null));
        })))),
      admin ? memberForm() : h("p", { class: "hint" }, "Only the environment's admins add and remove members."),
      h("p", { class: "status", role: "status" }, status),
    ]);
  }

  function editForm(env: Environment) {
    const fid = "edit-environment";
    return h("details", { class: "card", id: "edit", "data-key": "edit" },
      h("summary", {}, "Edit the connection"),
      h("form", { id: fid, novalidate: true, "aria-describedby": describedBy(fid, editErr), onsubmit: async (ev: Event) => {
        ev.preventDefault();
        const form = ev.currentTarget as HTMLFormElement;
        const f = fields(form);
        const missing = required(f, requiredConnection);
        if (missing) {
          editErr = missing;
          render();
          (form.elements.namedItem(missing.field!) as HTMLElement | null)?.focus();
          return;
        }
        // Only what changed: what is left out stays as it is.
        const body: EditEnvironment = { check: f.check === "yes", target: f.target === "yes" };
        if (f.host.trim() !== env.host) body.host = f.host.trim();
        if ((Number(f.port) || 3306) !== env.port) body.port = Number(f.port) || 3306;
        if (f.dbName !== env.dbName) body.dbName = f.dbName;
        if (f.user !== env.user) body.user = f.user;
        if (f.pass) body.pass = f.pass;
        if (f.tls && f.tls !== env.tls) body.tls = f.tls;
        if (f.caCert.trim() !== (env.caCert ?? "").trim()) body.caCert = f.caCert.trim() ? f.caCert : null;
        if ((f.instance || null) !== (env.instance ?? null)) body.instance = f.instance || null;
        if ((f.parameterGroup || null) !== (env.parameterGroup ?? null)) body.parameterGroup = f.parameterGroup || null;
        try {
          const got = await api.editEnvironment(id, body);
          editErr = null;
          check = got.check ?? null;
          checkWhen = "when it was edited";
          status = "Saved the connection.";
          (form.elements.namedItem("pass") as HTMLInputElement).value = "";
          await w.kick();
        } catch (e) {
          if (toSignIn(e)) return;
          editErr = { field: null, message: message(e) }; // the API's errors name no field
          render();
        }
      } },
      formError(fid, editErr),
      ...connectionFields(fid, editErr, env, false),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "check", value: "yes", checked: true }), "Check the database before saving"),
      targetBox(),
      h("button", { type: "submit", class: "small" }, "Save")));
  }

  function memberForm() {
    const fid = "add-member";
    return h("form", { class: "inline-form", id: fid, onsubmit: async (ev: Event) => {
      ev.preventDefault();
      const form = ev.currentTarget as HTMLFormElement;
      const f = fields(form);
      if (!f.user.trim()) {
        memberErr = { field: "user", message: "Name the user to add." };
        render();
        return;
      }
      try {
        const m = await api.addMember(id, f.user.trim(), f.isAdmin === "yes");
        memberErr = null;
        status = `Added ${m.name ?? m.user}.`;
        (form.elements.namedItem("user") as HTMLInputElement).value = "";
        await w.kick();
      } catch (e) {
        if (toSignIn(e)) return;
        memberErr = { field: "user", message: message(e) }; // the form's one field
        render();
      }
    } },
    field(fid, "User name, email or id", h("input", { name: "user", required: true, autocomplete: "off" }), memberErr),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "isAdmin", value: "yes" }), "admin"),
    h("button", { type: "submit", class: "small" }, "Add member"));
  }

  return w.start(root);
};

/** checkView shows what checking the database found, or nothing before a check. */
function checkView(c: EnvironmentCheck | null, when: string) {
  if (!c) return null;
  const p = c.privileges;
  return h("div", { id: "check-result", class: c.ok ? "check ok" : "check failed", role: "status" },
    h("p", {}, h("strong", {}, c.ok ? "The check passed" : "The check failed"), ` ${when}`, c.problem ? `: ${c.problem}` : "."),
    h("dl", { class: "facts" },
      h("dt", {}, "Version"), h("dd", {}, c.version ?? "–"),
      h("dt", {}, "TLS"), h("dd", {}, `${c.tls.mode}, ${c.tls.encrypted ? `encrypted${c.tls.cipher ? ` (${c.tls.cipher})` : ""}` : "not encrypted"}`),
      h("dt", {}, "Switching the log"), h("dd", {}, p.switchLog ?? "not allowed"),
      h("dt", {}, "Reading the log"), h("dd", {}, p.readLog ? "allowed" : "not allowed"),
      h("dt", {}, "Rotation"), h("dd", {}, c.rotation ?? "–", c.rotation === "none" ? " (optional: each collection reads the whole log table)" : "")));
}
