// #/signin: through Cognito's Hosted UI where the stack wrote /config.json, else make run's
// local sign-in (any user name).
import { cognito, signIn, signInWithCognito } from "../api";
import { fields, h } from "../dom";
import { draw, Screen } from "../screen";
import { field, FormError, message, screenError } from "../ui";

/** failed is why the last sign-in failed (Cognito's answer did not match), shown once by the next sign-in screen. */
let failed: string | null = null;
export const signInFailed = (why: string) => (failed = why);

export const signInScreen: Screen = (root) => {
  let err: FormError | null = null;
  let error: string | null = failed;
  failed = null;
  let stopped = false;
  const local = () => h("form", { class: "card narrow", id: "signin", "data-key": "signin", onsubmit: async (ev: Event) => {
    ev.preventDefault();
    try {
      await signIn(fields(ev.currentTarget as HTMLFormElement).user.trim());
      location.hash = "#/captures";
    } catch (e) {
      err = { field: "user", message: message(e) };
      draw(root, [screenError(error), local()]);
    }
  } },
  h("h1", {}, "Sign in"),
  h("p", { class: "hint" }, "This is make run's local sign-in: any user name you choose. On AWS, Cognito signs you in."),
  field("signin", "User name", h("input", { name: "user", required: true, autocomplete: "username", autofocus: true, maxlength: 64 }), err),
  h("button", { type: "submit" }, "Sign in"));
  void cognito().then((c) => {
    if (stopped) return;
    if (!c) {
      draw(root, [screenError(error), local()]);
      root.querySelector<HTMLInputElement>("input[name=user]")?.focus();
      return;
    }
    const view = () => h("div", { class: "card narrow" },
      h("h1", {}, "Sign in"),
      screenError(error),
      h("p", { class: "hint" }, "You sign in with your MyCRT account on its sign-in page, then come back here."),
      h("button", { id: "cognito-sign-in", onclick: () => signInWithCognito(c).catch((e) => {
        error = message(e);
        draw(root, [view()]);
      }) }, "Sign in"));
    draw(root, [view()]);
  });
  return () => (stopped = true);
};
