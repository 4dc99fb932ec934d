"""The live console in a real browser (headless Chromium through Playwright, Debian's binary)
against a real Daphne process on the test database and real Redis.

Each test creates its data first, then opens pages; Django work after that goes through ``dj``
(see ``tests.console.conftest.Browser``). Every wait is on a DOM or client condition, never a
fixed sleep. Screenshots of each panel land in tests/artifacts/console/.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import client_for
from tests.console.conftest import WAIT_MS, shot, sign_in, topic_state
from tests.factories.chat import ConversationFactory
from tests.factories.commerce import ProductFactory
from tests.factories.core import PASSWORD, UserFactory
from tests.factories.notifications import notify_one

pytestmark = pytest.mark.live


def wait_count(page, selector: str, count: int) -> None:
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n", arg=[selector, count], timeout=WAIT_MS
    )


def no_page_errors(*pages) -> None:
    for page in pages:
        assert page.errors == [], page.errors


# --- in the browser -------------------------------------------------------------------------------


def test_sign_in_and_the_notification_bell_counts_live(browser, console, dj):
    user = UserFactory()
    notify_one(user, title="Welcome aboard")
    page = browser.page()

    page.goto(console.url + "/console/")
    page.fill("#signin-form input[name=email]", user.email)
    page.fill("#signin-form input[name=password]", "wrong-password")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-error:has-text('Wrong email or password')")
    sign_in(page, console, user.email, PASSWORD)
    page.wait_for_selector("#bell-count[data-count='1']")
    page.wait_for_selector("#panel-notifications li.unread:has-text('Welcome aboard')")

    dj(notify_one, user, title="Your parcel is out for delivery")  # published by another process
    page.wait_for_selector("#bell-count[data-count='2']")
    page.wait_for_selector("#notif-unread[data-count='2']")
    page.wait_for_selector("#panel-notifications li.unread:has-text('Your parcel is out for delivery')")
    shot(page.locator("#panel-notifications"), "notifications")
    shot(page.locator(".topbar"), "topbar-bell")

    page.click("#panel-notifications li.unread:has-text('Welcome aboard')")  # marks it read over REST
    page.wait_for_selector("#bell-count[data-count='1']")
    page.click("#panel-notifications button:has-text('Mark all read')")
    page.wait_for_selector("#bell-count[data-count='0']")
    wait_count(page, "#panel-notifications li.unread", 0)
    assert dj(lambda: client_for(user).get("/api/v1/notifications/counts/").json())["unread"] == 0

    # the auction and delivery panels render something sensible whatever the backend has today
    for panel in ("auction", "delivery"):
        page.wait_for_selector(f"#panel-{panel} [data-unavailable], #panel-{panel} .{panel}-room > *, "
                               f"#panel-{panel} .{panel}-view > *")
        shot(page.locator(f"#panel-{panel}"), panel)
    shot(page.locator("body"), "console")
    no_page_errors(page)


def test_cart_edited_in_one_pane_appears_in_the_other(browser, console):
    user = UserFactory()
    product = ProductFactory(name="Brake pads ATE 13.0460", stock=5, price=Decimal("12.50"))
    page = browser.page()
    sign_in(page, console, user.email, PASSWORD)
    pane_a, pane_b = page.locator("[data-pane=a]"), page.locator("[data-pane=b]")
    page.wait_for_selector(f"[data-pane=a] select option[value='{product.pk}']", state="attached")
    page.wait_for_function("consoleApp.clients.cartB && consoleApp.clients.cartB.state === 'open'")

    # device A adds through a socket command; device B (another socket) follows
    pane_a.locator("select").select_option(str(product.pk))
    pane_a.locator("button.add").click()
    line_b = f"[data-pane=b] [data-product-id='{product.pk}']"
    page.wait_for_selector(f"{line_b}[data-quantity='1']")
    assert "€12.50" in pane_b.locator(".cart-total").inner_text()

    # device B changes the quantity over REST; device A follows
    page.click(f"{line_b} button.inc")
    page.wait_for_selector(f"[data-pane=a] [data-product-id='{product.pk}'][data-quantity='2']")
    assert "€25.00" in pane_a.locator(".cart-total").inner_text()
    assert pane_a.get_attribute("data-version") == pane_b.get_attribute("data-version")

    # a refusal surfaces its code: more than the stock
    pane_a.locator("input.qty-input").fill("9")
    pane_a.locator("button.add").click()
    page.wait_for_selector("[data-pane=a] .status:has-text('insufficient_stock')")
    shot(page.locator("#panel-cart"), "cart")

    for client in ("main", "cartB"):
        state = topic_state(page, f"cart:{user.pk}", client)
        assert state["gaps"] == 0 and state["status"] == "live", state
    no_page_errors(page)


def test_chat_between_a_buyer_and_a_vendor_with_typing_and_read_receipts(browser, console):
    conversation = ConversationFactory(buyer=UserFactory(display_name="Bruno Buyer"))
    buyer, owner = conversation.buyer, conversation.vendor.owner
    buyer_page, vendor_page = browser.page(), browser.page()
    sign_in(buyer_page, console, buyer.email, PASSWORD)
    sign_in(vendor_page, console, owner.email, PASSWORD)
    for page in (buyer_page, vendor_page):
        page.wait_for_selector(f".conversations li.active[data-conversation-id='{conversation.pk}']")
        page.wait_for_selector("#panel-chat textarea:not([disabled])")
        page.wait_for_function(f"consoleApp.rt.topics().some((t) => t.topic === 'chat:{conversation.pk}' && t.status === 'live')")

    buyer_page.fill("#panel-chat textarea", "Hello! Do these pads fit a Golf VII?")  # fires input: typing start
    vendor_page.wait_for_selector("#chat-typing:has-text('Bruno Buyer is typing')")
    buyer_page.press("#panel-chat textarea", "Enter")
    vendor_page.wait_for_selector(".messages li.theirs:has-text('Do these pads fit a Golf VII?')")
    vendor_page.wait_for_function("document.getElementById('chat-typing').textContent === ''")
    # the vendor's open conversation marks it read; the buyer sees the receipt
    buyer_page.wait_for_selector(".messages li.mine:has-text('Golf VII') .receipt[data-state='read']")

    vendor_page.fill("#panel-chat textarea", "Yes, they fit the 1.4 TSI.")
    vendor_page.click("#panel-chat button.send")
    buyer_page.wait_for_selector(".messages li.theirs:has-text('they fit the 1.4 TSI')")
    vendor_page.wait_for_selector(".messages li.mine:has-text('1.4 TSI') .receipt[data-state='read']")
    shot(buyer_page.locator("#panel-chat"), "chat-buyer")
    shot(vendor_page.locator("#panel-chat"), "chat-vendor")
    for page in (buyer_page, vendor_page):
        assert topic_state(page, f"chat:{conversation.pk}")["gaps"] == 0
    no_page_errors(buyer_page, vendor_page)


def test_a_dropped_connection_resumes_without_missing_an_event(browser, console, dj):
    user = UserFactory()
    product = ProductFactory(name="Oil filter Mann W 712/95", stock=8, price=Decimal("7.90"))
    page = browser.page()
    sign_in(page, console, user.email, PASSWORD)
    cart_topic, user_topic = f"cart:{user.pk}", f"user:{user.pk}"
    page.wait_for_function(f"consoleApp.rt.topics().filter((t) => ['{cart_topic}', '{user_topic}'].includes(t.topic) "
                           "&& t.status === 'live').length === 2")
    page.wait_for_function("consoleApp.clients.cartB && consoleApp.clients.cartB.state === 'open'")
    before = topic_state(page, cart_topic)

    page.evaluate("consoleApp.rt.debug.setOffline(true)")  # the page's socket drops and stays down
    page.wait_for_function("consoleApp.rt.state === 'offline'")
    page.wait_for_selector("#conn-state[data-state='offline']")

    # published while the page's socket is away, by another process
    response = dj(lambda: client_for(user).post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": 3}, format="json"))
    assert response.status_code == 200, response.content
    dj(notify_one, user, title="Published while you were away")
    line = f"[data-product-id='{product.pk}'][data-quantity='3']"
    page.wait_for_selector(f"[data-pane=b] {line}")  # device B's socket was not dropped: the event exists
    assert page.locator(f"[data-pane=a] {line}").count() == 0  # device A (the dropped socket) has not seen it
    shot(page.locator("#panel-inspector"), "inspector-offline")

    page.evaluate("consoleApp.rt.debug.setOffline(false)")
    page.wait_for_selector(f"[data-pane=a] {line}")
    page.wait_for_selector("#bell-count[data-count='1']")
    page.wait_for_selector("#panel-notifications li:has-text('Published while you were away')")

    after = topic_state(page, cart_topic)
    assert after["lastRecovered"] is True  # resumed with since: replay, not a fresh snapshot
    assert after["gaps"] == 0 and after["resets"] == 0
    assert after["seq"] == before["seq"] + 1 == topic_state(page, cart_topic, "cartB")["seq"]
    assert after["replayed"] >= 1
    user_state = topic_state(page, user_topic)
    assert user_state["lastRecovered"] is True and user_state["gaps"] == 0 and user_state["replayed"] >= 2
    stats = page.evaluate("consoleApp.rt.stats")
    assert stats["gaps"] == 0 and stats["resets"] == 0 and stats["reconnects"] >= 1

    # an abrupt drop (no "offline" pause) reconnects by itself after a short back-off
    page.evaluate("consoleApp.rt.debug.drop()")
    page.wait_for_function("consoleApp.rt.state !== 'open'")
    page.wait_for_function("consoleApp.rt.state === 'open'")
    response = dj(lambda: client_for(user).post("/api/v1/cart/items/", {"product_id": str(product.pk), "quantity": 1}, format="json"))
    assert response.status_code == 200, response.content
    page.wait_for_selector(f"[data-pane=a] [data-product-id='{product.pk}'][data-quantity='4']")
    assert topic_state(page, cart_topic)["gaps"] == 0
    page.wait_for_selector(f"#panel-inspector tr[data-client='main'][data-topic='{cart_topic}'][data-recovered='true']")
    shot(page.locator("#panel-inspector"), "inspector")
    no_page_errors(page)


def test_reauth_on_the_same_socket_and_logout_closes_it_with_4401(browser, console, dj):
    user = UserFactory()
    page = browser.page()
    sign_in(page, console, user.email, PASSWORD)
    # (a function: Playwright would call the off() that on() returns if the string evaluated to it)
    page.evaluate("() => { window.__reauths = 0; consoleApp.rt.on('reauth', () => { window.__reauths += 1; }); }")
    first_access = page.evaluate("consoleApp.session.access")

    page.evaluate("consoleApp.rt.debug.reauth()")  # refresh the token (rotation), send auth again
    page.wait_for_function("window.__reauths === 1")
    assert page.evaluate("consoleApp.session.access") != first_access
    assert page.evaluate("consoleApp.rt.state") == "open"
    assert page.evaluate("consoleApp.rt.stats.reconnects") == 0  # same socket

    # a logout elsewhere blacklists the refresh token and closes the user's sockets with 4401:
    # the client's refresh is refused, so it signs out instead of reconnecting forever
    refresh = page.evaluate("consoleApp.session.refreshToken")
    response = dj(lambda: client_for(user).post("/api/v1/auth/logout/", {"refresh": refresh}, format="json"))
    assert response.status_code == 204, response.content
    page.wait_for_selector("#panel-signin:not([hidden])")
    page.wait_for_selector("#signin-error:has-text('sign in again')")
    assert page.evaluate("sessionStorage.getItem('marketplace.console.session')") is None
    no_page_errors(page)


# --- realtime.js against a scripted server (paths a healthy server rarely shows) --------------------

SCRIPTED = r"""
async () => {
  const { RealtimeClient, RealtimeError } = await import("/static/console/realtime.js");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (fn, what, ms = 3000) => {
    const end = Date.now() + ms;
    while (!fn()) { if (Date.now() > end) throw new Error("timed out waiting for " + what); await sleep(5); }
  };
  const iso = (ms) => new Date(ms).toISOString();

  // A fake WebSocket driven by `server(ws, frame)`; the test plays the gateway.
  const sockets = [];
  let server = null;
  class FakeSocket {
    constructor(url) {
      this.url = url; this.readyState = 0; this.sent = []; sockets.push(this);
      setTimeout(() => { this.readyState = 1; this.onopen && this.onopen(); }, 0);
    }
    send(text) { const f = JSON.parse(text); this.sent.push(f); setTimeout(() => server(this, f), 0); }
    close(code = 1000, reason = "") { if (this.readyState >= 2) return; this.readyState = 3; setTimeout(() => this.onclose({ code, reason }), 0); }
    push(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
    drop(code, reason = "") { this.readyState = 3; this.onclose({ code, reason }); }
  }
  const reply = (ws, f, data) => ws.push({ op: "reply", ref: f.ref, status: "ok", data });
  const refuse = (ws, f, code, extra = {}) => ws.push({ op: "reply", ref: f.ref, status: "error", error: { code, detail: code, ...extra } });
  const ev = (seq, extra = {}) => ({ op: "event", topic: "cart:u", seq, type: "cart.updated", data: { version: seq }, ts: iso(Date.now()), ...extra });

  let tokenN = 0, refreshOk = true, refreshes = 0, expiresIn = 15 * 60 * 1000;
  const auth = {
    access: "token-0",
    async refresh() { refreshes += 1; if (!refreshOk) throw new RealtimeError("token_blacklisted", "refused"); this.access = "token-" + (++tokenN); return this.access; },
  };
  let onSubscribe = null, onCommand = null, unavailableOnce = false;
  server = (ws, f) => {
    if (f.op === "auth" && unavailableOnce) {  // the gateway cannot check tokens now: unavailable, then 4503
      unavailableOnce = false;
      refuse(ws, f, "unavailable", { retry_after_ms: 400 });
      setTimeout(() => ws.drop(4503, "try_again_later"), 0);
    }
    else if (f.op === "auth") reply(ws, f, { user_id: "u", expires_at: iso(Date.now() + 60000 + expiresIn) });  // server clock
    else if (f.op === "ping") reply(ws, f, { server_time: iso(Date.now() + 60000) });  // server clock 60 s ahead
    else if (f.op === "subscribe") onSubscribe(ws, f);
    else if (f.op === "command") onCommand && onCommand(ws, f);
    else if (f.op === "unsubscribe") reply(ws, f, { topic: f.topic, subscribed: false });
  };

  const out = {};
  const rt = new RealtimeClient({ auth, url: "/ws/", WebSocketImpl: FakeSocket, backoff: { baseMs: 20, maxMs: 40 },
                                  rateLimitedDelayMs: 300, commandTimeoutMs: 1000 });
  const closes = [], errors = [], applied = [], snapshots = [], gaps = [], ephemeral = [], revoked = [];
  rt.on("close", (c) => closes.push(c));
  rt.on("error", (e) => errors.push(e.code));

  // 1. first subscribe: a snapshot, then seq +1 events; a jump is a gap, resynced with since
  onSubscribe = (ws, f) => reply(ws, f, { seq: 5, recovered: false, snapshot: { version: 5 } });
  await rt.connect();
  out.firstAuthToken = sockets[0].sent[0].token;
  out.urlIsWs = sockets[0].url.startsWith("ws://");
  const sub = rt.subscribe("cart:u", {
    snapshot: (s, info) => snapshots.push([s.version, info.seq]),
    event: (e) => (e.seq == null ? ephemeral.push(e.type) : applied.push(e.seq)),
    gap: (g) => gaps.push([g.expected, g.got]),
    revoked: (r) => revoked.push(r),
  });
  await sub.ready;
  await until(() => rt.clockOffsetMs > 50000, "the ping's clock offset");
  out.clockOffsetOk = Math.abs(rt.serverNow() - (Date.now() + 60000)) < 1000;
  const ws0 = sockets[0];
  onSubscribe = (ws, f) => { for (let s = f.since + 1; s <= 8; s++) ws.push(ev(s)); reply(ws, f, { seq: 8, recovered: true }); };
  ws0.push(ev(6));
  ws0.push(ev(8));                       // 7 is missing
  await until(() => applied.includes(8), "the gap to be filled");
  out.gapResubscribe = ws0.sent.filter((f) => f.op === "subscribe").map((f) => f.since ?? null);
  ws0.push(ev(8));                       // a duplicate
  ws0.push({ op: "event", topic: "cart:u", type: "cart.typing", data: {}, ephemeral: true });

  // 2. a dropped connection: back-off, reconnect, auth, resubscribe with since; replay fills the hole
  onSubscribe = (ws, f) => { ws.push(ev(9)); reply(ws, f, { seq: 9, recovered: true }); };
  ws0.drop(1006);
  await until(() => applied.includes(9) && rt.state === "open", "the resume");
  out.resumeSince = sockets[1].sent.find((f) => f.op === "subscribe").since;
  out.afterResume = { applied: [...applied], snapshots: [...snapshots], gaps: [...gaps], stats: { ...rt.stats },
                      topic: rt.topics()[0], ephemeral: [...ephemeral] };

  // 3. history no longer reaches back: a snapshot replaces the state (a reset, not a gap)
  onSubscribe = (ws, f) => reply(ws, f, { seq: 40, recovered: false, snapshot: { version: 40 } });
  sockets[1].drop(1006);
  await until(() => snapshots.length === 2 && rt.state === "open", "the reset snapshot");
  out.reset = { snapshots: [...snapshots], resets: rt.topics()[0].resets, seq: rt.topics()[0].seq };

  // 4. commands: error replies keep their code and extras; timeouts; frames over 64 KiB never leave
  onCommand = (ws, f) => { if (f.name === "add_item") refuse(ws, f, "insufficient_stock", { available_stock: 2 });
                           else if (f.name === "rate") refuse(ws, f, "rate_limited", { retry_after_ms: 1500 }); };
  try { await rt.command("cart:u", "add_item", { quantity: 9 }); } catch (e) { out.refused = [e.code, e.extra.available_stock, e instanceof RealtimeError]; }
  try { await rt.command("cart:u", "rate", {}); } catch (e) { out.rateLimited = [e.code, e.retryAfterMs]; }
  try { await rt.command("cart:u", "silent", {}, { timeoutMs: 50 }); } catch (e) { out.timeout = e.code; }
  const before = sockets[2].sent.length;
  try { await rt.command("cart:u", "add_item", { note: "x".repeat(70000) }); } catch (e) { out.tooBig = [e.code, sockets[2].sent.length - before]; }
  // a command in flight when the socket drops: rejected as "disconnected" (it may have run)
  onCommand = () => {};
  const inflight = rt.command("cart:u", "clear", {}, { timeoutMs: 2000 }).catch((e) => e.code);
  await until(() => sockets[2].sent.some((f) => f.name === "clear"), "the command to be sent");
  onSubscribe = (ws, f) => reply(ws, f, { seq: f.since, recovered: true });
  sockets[2].drop(1006);
  out.inflight = await inflight;
  await until(() => rt.state === "open", "reconnect after the in-flight drop");

  // 5. 4401: refresh the token and reconnect at once with it
  const refreshesBefore = refreshes;
  const n = sockets.length;
  sockets[n - 1].drop(4401, "token_expired");
  await until(() => sockets.length === n + 1 && rt.state === "open", "the 4401 reconnect");
  out.after4401 = { refreshed: refreshes - refreshesBefore, token: sockets[n].sent[0].token, access: auth.access };

  // 6. 4429: wait at least rateLimitedDelayMs; 1009: reported as an error
  sockets[sockets.length - 1].drop(4429, "rate_limited");
  await until(() => closes.length && closes[closes.length - 1].code === 4429, "the 4429 close");
  out.delay4429 = closes[closes.length - 1].delayMs;
  await until(() => rt.state === "open", "reconnect after 4429");
  sockets[sockets.length - 1].drop(1009, "frame_too_big");
  await until(() => errors.includes("frame_too_big") && rt.state === "open", "the 1009 report");

  // 6b. PostgreSQL or Redis down: `unavailable` + 4503 → the same token again after retry_after_ms
  const refreshesBefore503 = refreshes, tokenBefore503 = auth.access, socketsBefore503 = sockets.length;
  unavailableOnce = true;
  sockets[sockets.length - 1].drop(1006);
  await until(() => closes.length && closes[closes.length - 1].code === 4503, "the 4503 close");
  out.delay4503 = closes[closes.length - 1].delayMs;
  await until(() => rt.state === "open" && sockets.length === socketsBefore503 + 2, "reconnect after 4503", 5000);
  out.after4503 = { refreshed: refreshes - refreshesBefore503, tokens: sockets.slice(socketsBefore503).map((w) => w.sent[0].token),
                    before: tokenBefore503 };

  // 7. re-auth on the same socket before expires_at (a short-lived token here)
  expiresIn = 1500;
  const socketsBefore = sockets.length;
  await rt.debug.reauth();                 // sets the short expiry; the next re-auth is scheduled ~1 s later
  const reauthStarted = Date.now();
  const authsBefore = sockets[sockets.length - 1].sent.filter((f) => f.op === "auth").length;
  await until(() => sockets[sockets.length - 1].sent.filter((f) => f.op === "auth").length === authsBefore + 1, "a scheduled re-auth", 3000);
  out.reauth = { sameSocket: sockets.length === socketsBefore, lastToken: sockets[sockets.length - 1].sent.filter((f) => f.op === "auth").pop().token,
                 waitedMs: Date.now() - reauthStarted };
  expiresIn = 15 * 60 * 1000;

  // 8. subscription.revoked removes the topic; a refused refresh after 4401 signs out
  sockets[sockets.length - 1].push({ op: "event", topic: "cart:u", type: "subscription.revoked", data: { reason: "delivered" } });
  out.revoked = [...revoked];
  out.topicsAfterRevoke = rt.topics().length;
  refreshOk = false;
  let signedOut = false;
  rt.on("signed-out", () => { signedOut = true; });
  sockets[sockets.length - 1].drop(4401, "logout");
  await until(() => signedOut, "the sign-out");
  out.finalState = rt.state;
  try { await rt.command("cart:u", "clear", {}); } catch (e) { out.afterSignOut = e.code; }
  return out;
}
"""


def test_realtime_js_protocol_logic_against_a_scripted_server(browser, console):
    page = browser.page()
    page.goto(console.url + "/health/")  # any page of the origin: the module is imported by the script
    out = page.evaluate(SCRIPTED)
    assert out["firstAuthToken"] == "token-0" and out["urlIsWs"] and out["clockOffsetOk"]
    # gap: 7 missing → resubscribe with since=6 → 7, 8 replayed; the duplicate 8 is dropped
    assert out["gapResubscribe"] == [None, 6]
    after = out["afterResume"]
    assert after["gaps"] == [[7, 8]] and after["snapshots"] == [[5, 5]]
    assert after["applied"] == [6, 7, 8, 9]  # each seq once, in order, across the gap and the reconnect
    assert out["resumeSince"] == 8
    assert after["stats"]["duplicates"] == 1 and after["stats"]["reconnects"] == 1 and after["stats"]["gaps"] == 1
    assert after["topic"]["lastRecovered"] is True and after["topic"]["seq"] == 9
    assert after["ephemeral"] == ["cart.typing"]
    assert out["reset"] == {"snapshots": [[5, 5], [40, 40]], "resets": 1, "seq": 40}
    assert out["refused"] == ["insufficient_stock", 2, True]
    assert out["rateLimited"] == ["rate_limited", 1500]
    assert out["timeout"] == "timeout"
    assert out["tooBig"] == ["frame_too_big", 0]
    assert out["inflight"] == "disconnected"
    assert out["after4401"]["refreshed"] == 1 and out["after4401"]["token"] == out["after4401"]["access"]
    assert out["delay4429"] >= 300
    assert out["delay4503"] >= 400  # the reply's retry_after_ms, not the 20–40 ms back-off
    assert out["after4503"]["refreshed"] == 0 and out["after4503"]["tokens"] == [out["after4503"]["before"]] * 2
    assert out["reauth"]["sameSocket"] is True and out["reauth"]["lastToken"].startswith("token-")
    assert 300 <= out["reauth"]["waitedMs"] < 2500  # scheduled on the server's clock, before the 1.5 s expiry
    assert out["revoked"] == ["delivered"] and out["topicsAfterRevoke"] == 0
    assert out["finalState"] == "signed_out" and out["afterSignOut"] == "signed_out"
    no_page_errors(page)
