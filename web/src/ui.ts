// What every screen shows alike: times with the browser's zone named (UTC on hover), sizes,
// status badges, form fields with their errors tied to them, and a screen's own error line.
import { ApiError, nameRule, Status } from "./api";
import { Child, h } from "./dom";

/** zone is the browser's time zone (IANA name): every time the console shows is in it. */
export const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

const local = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit", timeZoneName: "short",
});

/** utc words an API time in UTC: "2026-12-01 08:52:17 UTC". */
export const utc = (iso: string) => new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

/** time shows an API time in the browser's zone, its short name included, UTC on hover; "–" for none. */
export function time(iso: string | null | undefined): Child {
  if (!iso) return "–";
  return h("time", { datetime: iso, title: utc(iso) }, local.format(new Date(iso)));
}

export const fmtBytes = (n: number) =>
  n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : n < 1 << 30 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / (1 << 30)).toFixed(2)} GiB`;

/** cancelled is whether a capture or replay ended without ever starting: a scheduled one stopped before its time. */
export const cancelled = (c: { status: Status; start?: string | null }) => c.status === "DONE" && !c.start;

/** badge shows a status; a capture cancelled before it started reads CANCELLED (its status is DONE). */
export function badge(st: Status, isCancelled = false) {
  return isCancelled
    ? h("span", { class: "badge s-cancelled", "data-status": st, "data-cancelled": true, title: "DONE: cancelled before it started" }, "CANCELLED")
    : h("span", { class: `badge s-${st.toLowerCase()}`, "data-status": st }, st);
}

/** message words an error for people: the API's message as it gives it. */
export const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** signedOut is whether e says the token is no longer good (the router then shows the sign-in). */
export const signedOut = (e: unknown) => e instanceof ApiError && e.code === 401;

/**
 * FormError is what a form shows after a failed submit: field names the form field it is
 * about (the console's own checks know it), or null when it is about the whole form (the API's
 * errors name no field, so they show at the form).
 */
export interface FormError {
  field: string | null;
  message: string;
}

const errorId = (form: string, field: string | null) => `${form}-${field ?? "form"}-error`;

/**
 * field is a labelled form field; when err is about it, the field is marked invalid and
 * described by the error shown under it (aria-describedby).
 */
export function field(form: string, label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, err: FormError | null, hint?: string) {
  const name = input.getAttribute("name");
  const mine = err !== null && err.field !== null && err.field === name;
  const id = `${form}-${name}`;
  input.id = id;
  const described: string[] = [];
  if (hint) described.push(`${id}-hint`);
  if (mine) {
    described.push(errorId(form, name));
    input.setAttribute("aria-invalid", "true");
  }
  if (described.length) input.setAttribute("aria-describedby", described.join(" "));
  return h("div", { class: "field", "data-key": `field-${name}` },
    h("label", { for: id }, label),
    input,
    hint ? h("small", { id: `${id}-hint`, class: "hint" }, hint) : null,
    mine ? h("p", { id: errorId(form, name), class: "field-error", role: "alert" }, err.message) : null);
}

/** formError shows an error about the whole form (null: nothing), for the top of the form. */
export function formError(form: string, err: FormError | null): Child {
  return err && err.field === null ? h("p", { id: errorId(form, null), class: "field-error", role: "alert" }, err.message) : null;
}

/** describedBy is the form's aria-describedby when it shows an error about itself. */
export const describedBy = (form: string, err: FormError | null) => (err && err.field === null ? errorId(form, null) : undefined);

/**
 * nameInput is a capture's name field (a replay's with rule replayRule), checked against the
 * API's name rule as it is typed.
 */
export function nameInput(value?: string, rule: { pattern: string; description: string } = nameRule) {
  const pattern = new RegExp(rule.pattern);
  const input = h("input", { name: "name", value, required: true, maxlength: 25, title: rule.description, autocomplete: "off" });
  input.addEventListener("input", () =>
    input.setCustomValidity(!input.value || pattern.test(input.value) ? "" : `Name must be ${rule.description}`));
  return input;
}

/**
 * startFields is a create form's Start: now, or at a time (field "at", in the browser's zone,
 * enabled once at is chosen).
 */
export function startFields(form: string, err: FormError | null, at: boolean) {
  return h("fieldset", { class: "row" },
    h("legend", {}, "Start"),
    h("label", { class: "inline" }, h("input", { type: "radio", name: "when", value: "now", checked: true }), "Now"),
    h("label", { class: "inline" }, h("input", { type: "radio", name: "when", value: "at" }), "At a time"),
    field(form, `Time (${zone})`, h("input", { name: "at", type: "datetime-local", disabled: !at }), err));
}

/** screenError is a screen's error line (a failed refresh or action), or nothing. */
export function screenError(err: string | null): Child {
  return err ? h("p", { class: "error", role: "alert", id: "error" }, err) : null;
}

/** back is the link to the list a screen belongs to. */
export const back = (href: string, label: string) => h("p", {}, h("a", { href }, "← " + label));
