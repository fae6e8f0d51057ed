// #/replays: every replay the caller may read; and the pieces other screens show of replays:
// their table (a capture's screen lists its own), and the form that replays a capture.
import { api, Capture, CreateReplay, Environment, live, Replay, replayModes, replayRule } from "../api";
import { fields, h } from "../dom";
import { draw, Screen, toSignIn, Watch } from "../screen";
import { badge, cancelled, describedBy, field, FormError, formError, message, nameInput, screenError, startFields, time } from "../ui";

/** speedWords says what a replay's speed means: 1 is the captured timing, 0 as fast as each session allows. */
export const speedWords = (speed: number) =>
  speed === 0 ? "as fast as each session allows" : speed === 1 ? "the captured timing" : `${speed}× the captured timing`;

/** progressWords says how far a replay has come: statements done of those to replay, and errors. */
export function progressWords(r: Replay) {
  const p = r.progress;
  if (p.of === 0) return r.status === "DONE" || r.status === "FAILED" ? "nothing replayed" : "not prepared yet";
  return `${p.statements.toLocaleString()} of ${p.of.toLocaleString()} statements, ${p.errors.toLocaleString()} error${p.errors === 1 ? "" : "s"}`;
}

/** replayed says when a replay ran: never (cancelled), not yet, or its window. */
export function replayed(r: Replay): Node | string {
  if (cancelled(r)) return "never: cancelled before it started";
  if (!r.start) return "not yet";
  return h("span", {}, time(r.start), " → ", r.end ? time(r.end) : "still running");
}

/** replaysTable lists replays, each row keyed by its id; names are the environments' names, by id. */
export function replaysTable(replays: Replay[], names: Map<number, string>, act: (p: Promise<unknown>) => void, captureNames?: Map<number, string>) {
  return h("div", { class: "scroll", "data-key": "replays-table" }, h("table", { class: "list", id: "replays" },
    h("caption", { class: "sr-only" }, "Replays, newest first"),
    h("thead", {}, h("tr", {}, ...["Replay", "Capture", "Target", "Status", "Start", "Progress", "Speed", "Actions"]
      .map((t, i) => h("th", { scope: "col", class: i === 1 || i === 2 || i === 6 ? "opt" : undefined }, t)))),
    h("tbody", {}, ...replays.map((r) => {
      const target = names.get(r.envId) ?? `environment ${r.envId}`;
      return h("tr", { "data-replay": r.id, "data-key": `replay-${r.id}` },
        h("th", { scope: "row" }, h("a", { href: `#/replays/${r.id}` }, r.name), h("small", { class: "hint phone" }, `into ${target}`)),
        h("td", { class: "opt" }, h("a", { href: `#/captures/${r.captureId}` }, captureNames?.get(r.captureId) ?? `capture ${r.captureId}`)),
        h("td", { class: "opt" }, target),
        h("td", {}, badge(r.status, cancelled(r)), r.reason ? h("small", { class: "reason" }, " ", r.reason) : null),
        h("td", {}, time(r.start ?? r.scheduledStart)),
        h("td", {}, progressWords(r)),
        h("td", { class: "opt" }, r.speed === 0 ? "max" : `${r.speed}×`),
        h("td", { class: "actions" }, live(r.status)
          ? h("button", { class: "small", "aria-label": `Stop replay ${r.name}`, onclick: () => act(api.stopReplay(r.id)) }, r.status === "SCHEDULED" ? "Cancel" : "Stop")
          : null));
    }))));
}

/** ReplayFormState is what the capture's screen keeps of its replay form between refreshes. */
export interface ReplayFormState {
  err: FormError | null;
  at: boolean;
  target: string;
}

/**
 * replayForm replays capture c into one of envs (the API refuses a target the caller does not
 * administer, or one on the capture's own server), now or at a time; created gets the replay.
 */
export function replayForm(c: Capture, envs: Environment[], st: ReplayFormState, render: () => void, created: (r: Replay) => void) {
  const id = "new-replay";
  const err = st.err;
  if (!st.target || !envs.some((e) => String(e.id) === st.target)) st.target = envs.find((e) => e.id !== c.envId)?.id.toString() ?? String(envs[0]?.id ?? "");
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const f = fields(form);
    const fail = (e: FormError) => {
      st.err = e;
      render();
      if (e.field) (form.elements.namedItem(e.field) as HTMLElement | null)?.focus();
    };
    if (!f.name.trim()) return fail({ field: "name", message: "Name is required." });
    const speed = f.speed === "" ? 1 : Number(f.speed);
    if (!(speed >= 0 && speed <= 1000)) return fail({ field: "speed", message: "Speed is from 0 (as fast as each session allows) to 1000." });
    const body: CreateReplay = { name: f.name, captureId: c.id, envId: Number(f.envId), speed, mode: f.mode as CreateReplay["mode"] };
    if (f.maxConnections) body.maxConnections = Number(f.maxConnections);
    if (f.when === "at") {
      if (!f.at) return fail({ field: "at", message: "Choose when it starts." });
      body.status = "SCHEDULED";
      body.scheduledStart = new Date(f.at).toISOString(); // the browser's zone, sent as UTC
    }
    try {
      const r = await api.createReplay(body);
      st.err = null;
      created(r);
    } catch (e) {
      if (toSignIn(e)) return;
      fail({ field: null, message: message(e) }); // the API's errors name no field
    }
  };
  return h("form", { class: "card", id, "data-key": id, "aria-labelledby": "new-replay-title", "aria-describedby": describedBy(id, err), onsubmit: submit,
    onchange: (ev: Event) => {
      const t = ev.target as HTMLInputElement;
      if (t.name === "when") st.at = t.value === "at";
      if (t.name === "envId") st.target = t.value;
      render();
    } },
  h("h2", { id: "new-replay-title" }, "Replay it"),
  h("p", { class: "hint" }, "Runs this capture's statements against another database (one you administer), each session on its own connection, on the captured schedule."),
  formError(id, err),
  h("div", { class: "row" },
    field(id, "Target", h("select", { name: "envId" },
      ...envs.map((e) => h("option", { value: e.id, "data-key": `env-${e.id}`, selected: String(e.id) === st.target }, e.envName))), err),
    field(id, "Name", nameInput(undefined, replayRule), err),
    field(id, "Speed", h("input", { name: "speed", type: "number", min: 0, max: 1000, step: "any", value: 1 }), err, "1 = as captured, 2 = twice as fast, 0 = as fast as possible"),
    field(id, "Connections at most", h("input", { name: "maxConnections", type: "number", min: 1, max: 10000, placeholder: "200" }), err)),
  h("fieldset", { class: "row" },
    h("legend", {}, "Statements"),
    ...replayModes.map((m, i) => h("label", { class: "inline" }, h("input", { type: "radio", name: "mode", value: m, checked: i === 0 }),
      m === "all" ? "All of them" : "Read-only: only those that cannot write"))),
  startFields(id, err, st.at),
  h("button", { type: "submit" }, "Replay"));
}

export const replaysScreen: Screen = (root) => {
  let replays: Replay[] | null = null;
  let names = new Map<number, string>();
  // The captures' names, read once each while the screen shows (a capture the caller cannot
  // read, being a member of the target only, shows by its id).
  const captures = new Map<number, string>();
  const w = new Watch(
    async (signal) => {
      const [rs, envs] = await Promise.all([api.replays({}, signal), api.allEnvironments(signal)]);
      const unknown = [...new Set(rs.map((r) => r.captureId))].filter((id) => !captures.has(id));
      const read = await Promise.all(unknown.map((id) => api.capture(id, signal).catch(() => null)));
      return { rs, envs, read };
    },
    ({ rs, envs, read }) => {
      replays = rs;
      names = new Map(envs.map((e) => [e.id, e.envName]));
      for (const c of read) if (c) captures.set(c.id, c.name);
    },
    render,
  );
  const act = (p: Promise<unknown>) => void w.act(() => p);
  function render() {
    if (!replays) return;
    draw(root, [
      h("h1", {}, "Replays"),
      screenError(w.error),
      replays.length === 0
        ? h("p", { class: "empty" }, "No replays yet. Open a finished capture and replay it into another database from its screen.")
        : replaysTable(replays, names, act, captures),
    ]);
  }
  return w.start(root);
};
