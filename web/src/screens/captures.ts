// #/captures (and #/captures?env=3, the Record form on that environment): the captures list,
// a page at a time, and the Record form.
import { api, Capture, CreateCapture, Environment, live, statuses } from "../api";
import { fields, h } from "../dom";
import { draw, pages, Screen, toSignIn, Watch } from "../screen";
import { badge, cancelled, describedBy, field, fmtBytes, FormError, formError, message, nameInput, screenError, startFields, time } from "../ui";

/** perPage are the page sizes offered; the first is the default. */
const perPage = [25, 50, 100];

interface State {
  envs: Environment[] | null;
  caps: Capture[];
  next: string | null;
  want: number; // how many rows to show: a page, and a page more for each "More"
  per: number;
  env: string; // the Record form's environment, kept across creates
  at: boolean; // whether it starts at a time (else now)
  formError: FormError | null;
  created: string | null; // what the last create did, for the status line
}

export const capturesScreen: Screen = (root, args) => {
  const st: State = {
    envs: null, caps: [], next: null, want: perPage[0], per: perPage[0],
    env: args.query.get("env") ?? "", at: false, formError: null, created: null,
  };
  const filters = () => {
    const live = root.querySelector<HTMLFormElement>("#capture-search");
    return live ? fields(live) : { env: "", name: "", status: "" };
  };
  const w = new Watch(
    async (signal) => {
      const f = filters();
      const q = { envId: Number(f.env) || undefined, search: f.name?.trim() || undefined, limit: st.per };
      const [envs, list] = await Promise.all([
        api.allEnvironments(signal),
        pages((s) => api.captures(q, s), (u, s) => api.next<Capture>(u, s), st.want, signal),
      ]);
      return { envs, list };
    },
    ({ envs, list }) => {
      st.envs = envs;
      st.caps = list.items;
      st.next = list.next;
    },
    render,
  );

  const act = (what: Promise<unknown>) => void w.act(() => what);

  function render() {
    const envs = st.envs;
    if (!envs) return;
    if (!st.env || !envs.some((e) => String(e.id) === st.env)) st.env = envs[0] ? String(envs[0].id) : "";
    const names = new Map(envs.map((e) => [e.id, e.envName]));
    const f = filters();
    const shown = f.status ? st.caps.filter((c) => c.status === f.status) : st.caps;
    draw(root, [
      h("h1", {}, "Captures"),
      screenError(w.error),
      envs.length ? recordForm(envs) : null,
      searchForm(envs, f),
      // What the last create did is announced; the list's count, which every refresh may change, is not.
      h("p", { class: "status", role: "status", id: "list-status" }, st.created ?? ""),
      st.caps.length ? h("p", { class: "hint", id: "list-count" },
        `Showing ${shown.length}${f.status ? ` ${f.status}` : ""} of the ${st.caps.length} newest${st.next ? "" : " (all)"}.`) : null,
      shown.length === 0
        ? h("p", { class: "empty" }, envs.length === 0
          ? h("span", {}, "No captures yet, and no environment to record: ", h("a", { href: "#/environments" }, "add the database you want to record"), " first.")
          : "No captures match. Record one with the form above: now, or at a time you choose.")
        : capturesTable(shown, names, act),
      st.next ? h("button", { class: "more", id: "more-captures", onclick: () => {
        st.want = st.caps.length + st.per;
        void w.kick();
      } }, `Show ${st.per} more`) : null,
    ]);
  }

  function searchForm(envs: Environment[], f: Record<string, string>) {
    return h("form", { class: "search", role: "search", id: "capture-search", "aria-label": "Search captures",
      oninput: () => w.soon(), onchange: () => w.soon(0), onsubmit: (ev: Event) => ev.preventDefault() },
    field("capture-search", "Environment", h("select", { name: "env" }, h("option", { value: "" }, "All"),
      ...envs.map((e) => h("option", { value: e.id, "data-key": `env-${e.id}`, selected: f.env === String(e.id) }, e.envName))), null),
    field("capture-search", "Name", h("input", { name: "name", type: "search", placeholder: "part of a name", autocomplete: "off" }), null),
    field("capture-search", "Status", h("select", { name: "status" }, h("option", { value: "" }, "Any"),
      ...statuses.map((s) => h("option", { value: s }, s))), null),
    field("capture-search", "Rows per page", h("select", { name: "per", onchange: (ev: Event) => {
      st.per = Number((ev.target as HTMLSelectElement).value);
      st.want = st.per;
    } }, ...perPage.map((n) => h("option", { value: n, selected: n === st.per }, String(n)))), null));
  }

  function recordForm(envs: Environment[]) {
    const id = "new-capture";
    const err = st.formError;
    return h("form", { class: "card", id, "aria-labelledby": "record-title", "aria-describedby": describedBy(id, err), onsubmit: submit,
      onchange: (ev: Event) => {
        const t = ev.target as HTMLInputElement;
        if (t.name === "envId") st.env = t.value;
        if (t.name === "when") st.at = t.value === "at";
        render();
      } },
    h("h2", { id: "record-title" }, "Record"),
    formError(id, err),
    h("div", { class: "row" },
      field(id, "Environment", h("select", { name: "envId" },
        ...envs.map((e) => h("option", { value: e.id, "data-key": `env-${e.id}`, selected: String(e.id) === st.env }, e.envName))), err),
      field(id, "Name", nameInput(), err),
      field(id, "Duration (minutes)", h("input", { name: "duration", type: "number", min: 1, step: "any", placeholder: "until stopped" }), err)),
    startFields(id, err, st.at),
    h("button", { type: "submit" }, "Create capture"));
  }

  async function submit(ev: Event) {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const f = fields(form);
    const body: CreateCapture = { envId: Number(f.envId), name: f.name };
    const fail = (err: FormError) => {
      st.formError = err;
      render();
      if (err.field) (form.elements.namedItem(err.field) as HTMLElement | null)?.focus();
    };
    if (!f.name.trim()) return fail({ field: "name", message: "Name is required." });
    if (f.when === "at") {
      if (!f.at) return fail({ field: "at", message: "Choose when it starts." });
      body.scheduledStart = new Date(f.at).toISOString(); // the browser's zone, sent as UTC
    }
    if (f.duration) body.duration = Math.round(Number(f.duration) * 60);
    try {
      const c = await api.createCapture(body);
      st.env = f.envId; // the next capture goes to the same environment
      st.formError = null;
      w.error = null;
      st.created = `Created capture ${c.name} (${c.status}).`;
      (form.elements.namedItem("name") as HTMLInputElement).value = "";
      await w.kick();
    } catch (e) {
      if (toSignIn(e)) return;
      fail({ field: null, message: message(e) }); // the API's errors name no field
    }
  }

  return w.start(root);
};

/** capturesTable lists captures, each row keyed by its id so that a refresh keeps it in place. */
export function capturesTable(caps: Capture[], names: Map<number, string>, act: (p: Promise<unknown>) => void) {
  return h("div", { class: "scroll", "data-key": "captures-table" }, h("table", { class: "list", id: "captures" },
    h("caption", { class: "sr-only" }, "Captures, newest first"),
    h("thead", {}, h("tr", {}, ...["Capture", "Environment", "Status", "Start", "End", "Statements", "Size", "Owner", "Actions"]
      .map((t, i) => h("th", { scope: "col", class: i === 1 || (i >= 4 && i <= 7) ? "opt" : undefined }, t)))),
    h("tbody", {}, ...caps.map((c) => captureRow(c, names, act)))));
}

function captureRow(c: Capture, names: Map<number, string>, act: (p: Promise<unknown>) => void) {
  const gone = cancelled(c);
  const env = names.get(c.envId) ?? `environment ${c.envId}`;
  return h("tr", { "data-capture": c.id, "data-key": `capture-${c.id}` },
    h("th", { scope: "row" }, h("a", { href: `#/captures/${c.id}` }, c.name), h("small", { class: "hint phone" }, env)),
    h("td", { class: "opt" }, env),
    h("td", {}, badge(c.status, gone), c.reason ? h("small", { class: "reason" }, " ", c.reason) : null),
    h("td", {}, gone ? h("span", { class: "hint" }, "was to start ", time(c.scheduledStart)) : time(c.start ?? c.scheduledStart)),
    h("td", { class: "opt" }, time(c.end ?? c.scheduledEnd)),
    h("td", { class: "num opt" }, c.workload ? c.workload.statements.toLocaleString() : "–"),
    h("td", { class: "num opt" }, c.workload?.bytes ? fmtBytes(c.workload.bytes) : "–"),
    h("td", { class: "opt" }, c.ownerName ?? c.ownerId),
    h("td", { class: "actions" }, live(c.status)
      ? h("button", { class: "small", "aria-label": `Stop capture ${c.name}`, onclick: () => act(api.stopCapture(c.id)) },
        c.status === "SCHEDULED" ? "Cancel" : "Stop")
      : null));
}
