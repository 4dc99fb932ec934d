/**
 * The live console: sign-in, then one RealtimeClient for the page shared by every panel (one
 * socket per client, as a mobile app would), plus the panels' own extra sockets where a panel
 * plays a second device (the cart's pane B).
 *
 * Panels are modules exporting `mount(root, ctx) → {destroy()}` with
 * ctx = {session, rt, me, config, RealtimeClient, clients}. `window.consoleApp` exposes the
 * session-independent parts for debugging and for the browser tests (clients, topics, stats).
 */

import { AuthSession, RealtimeClient } from "./realtime.js";
import { errorText, fill, h } from "./ui.js";
import * as cart from "./cart.js";
import * as chat from "./chat.js";
import * as notifications from "./notifications.js";
import * as auction from "./auction.js";
import * as delivery from "./delivery.js";
import * as inspector from "./inspector.js";
import * as returns from "./returns.js";
import * as reviews from "./reviews.js";
import * as product from "./product.js";
import * as tickets from "./tickets.js";

const config = JSON.parse(document.getElementById("console-config").textContent);
const STORAGE = { storage: window.sessionStorage, storageKey: "marketplace.console.session", apiBase: config.api_base };
const PANELS = [
  ["panel-cart", cart],
  ["panel-chat", chat],
  ["panel-notifications", notifications],
  ["panel-auction", auction],
  ["panel-delivery", delivery],
  ["panel-inspector", inspector],
  ["panel-returns", returns],
  ["panel-reviews", reviews],
  ["panel-product", product],
  ["panel-tickets", tickets],
];

const $ = (id) => document.getElementById(id);
const app = { config, session: null, rt: null, me: null, clients: {}, panels: {}, ready: false };
window.consoleApp = app;

function showSignIn(message = "") {
  document.body.dataset.app = "signed-out";
  $("panel-signin").hidden = false;
  $("panels").hidden = true;
  $("bell").hidden = true;
  $("sign-out").hidden = true;
  $("whoami").textContent = "";
  const conn = $("conn-state");
  conn.textContent = "signed out";
  conn.dataset.state = "idle";
  const err = $("signin-error");
  err.hidden = !message;
  err.textContent = message;
  const form = $("signin-form");
  if (!form.email.value && config.demo_accounts.length) form.email.value = config.demo_accounts[0].email;
  if (!form.password.value && config.demo_password) form.password.value = config.demo_password;
  fill($("demo-accounts"),
    config.demo_accounts.length ? h("p", { class: "muted" }, "Demo accounts (password ", h("code", {}, config.demo_password || "see the README"), "):") : null,
    config.demo_accounts.map((a) =>
      h("button", {
        type: "button", class: "demo", dataset: { email: a.email },
        onclick: () => { form.email.value = a.email; if (config.demo_password) form.password.value = config.demo_password; form.requestSubmit(); },
      }, h("strong", {}, a.email), h("span", {}, a.label))));
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const session = await AuthSession.signIn({ email: form.email.value.trim(), password: form.password.value, ...STORAGE });
    await boot(session);
  } catch (err) {
    showSignIn(err.code === "invalid_credentials" ? "Wrong email or password." : errorText(err));
  } finally {
    button.disabled = false;
  }
}

function teardown() {
  for (const panel of Object.values(app.panels)) {
    try { panel.destroy?.(); } catch (err) { console.error(err); }
  }
  app.panels = {};
  for (const client of Object.values(app.clients)) client.close();
  app.clients = {};
  app.rt = null;
  app.ready = false;
}

async function boot(session) {
  teardown();
  app.session = session;
  let me;
  try {
    me = await session.api("me/");
  } catch (err) {
    showSignIn(session.signedOut ? "Your session ended; sign in again." : errorText(err));
    return;
  }
  app.me = me;
  const rt = new RealtimeClient({ auth: session, url: config.ws_url, name: "main" });
  app.rt = rt;
  app.clients.main = rt;
  // The session ends when a refresh is refused (logout elsewhere, ban, expiry): the server
  // closes the sockets with 4401 and the client's refresh fails.
  const ended = () => {
    if (app.session !== session || app.signingOut) return;
    teardown();
    app.session = null;
    showSignIn("Your session ended (signed out elsewhere or expired); sign in again.");
  };
  session.on("signed-out", ended);
  rt.on("signed-out", ended);

  document.body.dataset.app = "console";
  $("panel-signin").hidden = true;
  $("panels").hidden = false;
  $("bell").hidden = false;
  $("sign-out").hidden = false;
  fill($("whoami"), h("strong", {}, me.display_name || me.email), " ", h("span", { class: "muted" }, `${me.email} · ${(me.roles || []).join(", ")}`));
  const conn = $("conn-state");
  const showState = (s) => { conn.dataset.state = s; conn.textContent = `socket: ${s}`; };
  showState(rt.state);
  rt.on("state", showState);

  const ctx = { session, rt, me, config, RealtimeClient, clients: app.clients };
  for (const [id, module] of PANELS) {
    const root = $(id).querySelector(".body");
    root.replaceChildren();
    try {
      app.panels[id] = module.mount(root, ctx) || {};
    } catch (err) {
      console.error(`${id} failed to mount`, err);
      fill(root, h("p", { class: "status", dataset: { kind: "error" } }, `This panel failed: ${errorText(err)}`));
    }
  }
  app.ready = true;
  document.body.dataset.app = "ready";
  rt.connect().catch((err) => console.warn("connect:", errorText(err)));
}

$("signin-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", async () => {
  const session = app.session;
  app.signingOut = true;
  teardown();
  showSignIn("");
  await session?.signOut().catch(() => {});
  app.signingOut = false;
  app.session = null;
});
$("bell").addEventListener("click", () => app.panels["panel-notifications"]?.open?.());

const restored = AuthSession.restore(STORAGE);
if (restored) boot(restored);
else showSignIn();
