// The MyCRT Captures console: one hash route per screen, each screen its own module that keeps
// itself current (its own poller) until another takes its place.
import "./style.css";
import { cognito, completeSignIn, signedIn, signOut } from "./api";
import { h } from "./dom";
import { Args, draw, Screen } from "./screen";
import { captureScreen } from "./screens/capture";
import { capturesScreen } from "./screens/captures";
import { compareScreen } from "./screens/compare";
import { environmentScreen } from "./screens/environment";
import { environmentsScreen } from "./screens/environments";
import { replayScreen } from "./screens/replay";
import { replaysScreen } from "./screens/replays";
import { signInFailed, signInScreen } from "./screens/signin";
import { message, zone } from "./ui";

/** Route is a screen's path (the part of the hash before any "?"), and the nav entry it sits under. */
interface Route {
  path: RegExp; // its one group, if any, is the id
  nav: string | null;
  title: string;
  screen: Screen;
}

/** routes is the console's route table, first match wins. */
const routes: Route[] = [
  { path: /^\/signin$/, nav: null, title: "Sign in", screen: signInScreen },
  { path: /^\/captures$/, nav: "captures", title: "Captures", screen: capturesScreen },
  { path: /^\/captures\/(\d+)$/, nav: "captures", title: "Capture", screen: captureScreen },
  { path: /^\/replays$/, nav: "replays", title: "Replays", screen: replaysScreen },
  { path: /^\/replays\/(\d+)$/, nav: "replays", title: "Replay", screen: replayScreen },
  { path: /^\/compare$/, nav: "replays", title: "Compare replays", screen: compareScreen },
  { path: /^\/environments$/, nav: "environments", title: "Environments", screen: environmentsScreen },
  { path: /^\/environments\/(\d+)$/, nav: "environments", title: "Environment", screen: environmentScreen },
];

const app = document.getElementById("app")!;
let stop: (() => void) | null = null;

function route() {
  stop?.();
  stop = null;
  const who = signedIn();
  draw(document.getElementById("who")!, [who
    ? h("span", {}, who, " ", h("button", { class: "link", onclick: () => signOut().then(() => (location.hash = "#/signin")) }, "Sign out"))
    : null]);
  const [path, qs] = (location.hash.replace(/^#/, "") || "/captures").split("?", 2);
  if (!who && path !== "/signin") {
    location.hash = "#/signin";
    return;
  }
  const r = routes.find((r) => r.path.test(path));
  for (const a of document.querySelectorAll<HTMLAnchorElement>("[data-nav]")) {
    if (r && a.dataset.nav === r.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  app.replaceChildren();
  if (!r) {
    document.title = "MyCRT Captures";
    app.append(h("p", { class: "empty" }, "Nothing here. ", h("a", { href: "#/captures" }, "See your captures.")));
    return;
  }
  document.title = `${r.title} · MyCRT Captures`;
  const args: Args = { id: Number(r.path.exec(path)?.[1] ?? 0), query: new URLSearchParams(qs ?? "") };
  stop = r.screen(app, args);
}

// Back from the Hosted UI with a code: trade it for tokens before the first screen.
async function start() {
  document.getElementById("zone")!.textContent = `Times in ${zone}`;
  const c = await cognito();
  const before = location.hash;
  try {
    if (c && (await completeSignIn(c))) location.hash = "#/captures";
  } catch (e) {
    signInFailed(message(e));
    location.hash = "#/signin";
  }
  window.addEventListener("hashchange", route);
  if (location.hash === before) route(); // else the hashchange, still to come, routes
}

void start();
