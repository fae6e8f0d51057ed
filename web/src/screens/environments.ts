// #/environments: the caller's environments a page at a time, and the form that adds one (its
// database checked first unless asked not to).
import { api, CreateEnvironment, Environment, EnvironmentCheck, tlsModes } from "../api";
import { fields, h } from "../dom";
import { draw, pages, Screen, toSignIn, Watch } from "../screen";
import { describedBy, field, FormError, formError, message, screenError } from "../ui";

const perPage = 25;

/**
 * justChecked is what checking an environment found when this tab created it: its screen,
 * which the create leads to, shows it once.
 */
export let justChecked: { id: number; check: EnvironmentCheck } | null = null;
export const takeChecked = (id: number) => {
  const got = justChecked?.id === id ? justChecked.check : null;
  justChecked = null;
  return got;
};

export const environmentsScreen: Screen = (root) => {
  let envs: Environment[] | null = null;
  let next: string | null = null;
  let want = perPage;
  let formErr: FormError | null = null;
  const w = new Watch(
    (signal) => pages((s) => api.environments({ limit: perPage }, s), (u, s) => api.next<Environment>(u, s), want, signal),
    (p) => {
      envs = p.items;
      next = p.next;
    },
    render,
  );

  function render() {
    if (!envs) return;
    draw(root, [
      h("h1", {}, "Environments"),
      screenError(w.error),
      environmentForm(),
      envs.length === 0
        ? h("p", { class: "empty" }, "No environments yet. Add the MySQL or MariaDB you want to record with the form above; the account needs to read its general log.")
        : h("div", { class: "scroll" }, h("table", { class: "list", id: "environments" },
          h("caption", { class: "sr-only" }, "Environments, newest first"),
          h("thead", {}, h("tr", {}, ...["Environment", "Server", "Database", "As", "TLS", "Owner"]
            .map((t, i) => h("th", { scope: "col", class: i >= 2 ? "opt" : undefined }, t)))),
          h("tbody", {}, ...envs.map((e) => h("tr", { "data-env": e.id, "data-key": `env-${e.id}` },
            h("th", { scope: "row" }, h("a", { href: `#/environments/${e.id}` }, e.envName)),
            h("td", {}, `${e.host}:${e.port}`),
            h("td", { class: "opt" }, e.dbName),
            h("td", { class: "opt" }, e.user),
            h("td", { class: "opt" }, e.tls),
            h("td", { class: "opt" }, e.ownerName ?? e.ownerId)))))),
      next ? h("button", { class: "more", id: "more-environments", onclick: () => {
        want = (envs?.length ?? 0) + perPage;
        void w.kick();
      } }, `Show ${perPage} more`) : null,
    ]);
  }

  function environmentForm() {
    const id = "new-environment";
    const err = formErr;
    return h("form", { class: "card", id, novalidate: true, "aria-labelledby": "new-environment-title", "aria-describedby": describedBy(id, err), onsubmit: submit },
      h("h2", { id: "new-environment-title" }, "Add an environment"),
      formError(id, err),
      ...connectionFields(id, err, null, true),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "check", value: "yes", checked: true }),
        "Check the database now (sign in, switch and read the general log); clear it for one not reachable yet"),
      targetBox(),
      h("button", { type: "submit" }, "Add environment"));
  }

  async function submit(ev: Event) {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const f = fields(form);
    const fail = (e: FormError) => {
      formErr = e;
      render();
      if (e.field) (form.elements.namedItem(e.field) as HTMLElement | null)?.focus();
    };
    const missing = required(f, { envName: "Name", ...requiredConnection });
    if (missing) return fail(missing);
    const body: CreateEnvironment = { envName: f.envName, host: f.host.trim(), dbName: f.dbName, user: f.user, pass: f.pass, check: f.check === "yes", target: f.target === "yes" };
    if (f.port) body.port = Number(f.port);
    if (f.tls) body.tls = f.tls;
    if (f.caCert.trim()) body.caCert = f.caCert;
    if (f.instance) body.instance = f.instance;
    if (f.parameterGroup) body.parameterGroup = f.parameterGroup;
    try {
      const env = await api.createEnvironment(body);
      formErr = null;
      if (env.check) justChecked = { id: env.id, check: env.check };
      location.hash = `#/environments/${env.id}`;
    } catch (e) {
      if (toSignIn(e)) return;
      fail({ field: null, message: message(e) }); // the API's errors name no field
    }
  }

  return w.start(root);
};

/**
 * targetBox asks whether the environment is only a replay target: its check then signs in
 * without asking for the general log's privileges, which a replay does not need.
 */
export const targetBox = () => h("label", { class: "inline" }, h("input", { type: "checkbox", name: "target", value: "yes" }),
  "Only a replay target: the check signs in, and does not ask for the general log's privileges");

/** requiredConnection are the connection fields a create needs, with their labels. */
export const requiredConnection: Record<string, string> = { host: "Host", dbName: "Database", user: "User" };

/** required names the first field of labels left empty, as a field's error, or null. */
export function required(f: Record<string, string>, labels: Record<string, string>): FormError | null {
  for (const [name, label] of Object.entries(labels)) if (!(f[name] ?? "").trim()) return { field: name, message: `${label} is required.` };
  return null;
}

/**
 * connectionFields are an environment's connection fields in form form, filled from env when
 * editing one (the password left blank keeps the one stored); withName adds the name.
 */
export function connectionFields(form: string, err: FormError | null, env: Environment | null, withName: boolean) {
  const v = (x: string | number | null | undefined) => (x === null || x === undefined ? undefined : String(x));
  return [
    h("div", { class: "row" },
      withName ? field(form, "Name", h("input", { name: "envName", required: true, maxlength: 100 }), err) : null,
      field(form, "Host", h("input", { name: "host", required: true, value: v(env?.host), placeholder: "db.internal or an RDS endpoint" }), err),
      field(form, "Port", h("input", { name: "port", type: "number", min: 1, max: 65535, value: v(env?.port), placeholder: "3306" }), err),
      field(form, "Database", h("input", { name: "dbName", required: true, value: v(env?.dbName) }), err)),
    h("div", { class: "row" },
      field(form, "User", h("input", { name: "user", required: true, value: v(env?.user), autocomplete: "off" }), err),
      field(form, "Password", h("input", { name: "pass", type: "password", autocomplete: "new-password" }), err, env ? "blank keeps the stored one" : undefined),
      field(form, "TLS", h("select", { name: "tls" }, h("option", { value: "" }, "default"),
        ...tlsModes.map((m) => h("option", { value: m, selected: env?.tls === m }, m))), err)),
    h("details", {}, h("summary", {}, "CA certificates and RDS"),
      h("div", { class: "row" },
        field(form, "CA certificates (PEM)", h("textarea", { name: "caCert", rows: 3 }, env?.caCert ?? ""), err),
        field(form, "RDS instance", h("input", { name: "instance", value: v(env?.instance) }), err),
        field(form, "Parameter group", h("input", { name: "parameterGroup", value: v(env?.parameterGroup) }), err))),
  ];
}
