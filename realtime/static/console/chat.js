/**
 * Chat panel: the signed-in user's conversations (GET /api/v1/chat/conversations/) with live
 * unread counts (`chat.unread` on `user:<id>`), and one open conversation on `chat:<id>`:
 * messages (`chat.message`, `chat.message_updated`), typing (`typing` command, ephemeral
 * `chat.typing`), read receipts (`read` command, `chat.read`; a message's sender has read up to
 * it), blocks (`chat.block_changed`). Messages are sent with the `send` command and a
 * client_msg_id, so a send interrupted by a dropped connection is retried safely.
 */

import { clock, errorText, fill, flash, h, newId } from "./ui.js";

const TYPING_REPEAT_MS = 3000; // re-send "start" while typing (the server's signal expires after 5 s)
const TYPING_IDLE_MS = 2500; // "stop" after this long without a key

export function mount(root, { session, rt, me }) {
  const list = h("ul", { class: "conversations" });
  const header = h("div", { class: "chat-head muted" }, "No conversation selected.");
  const messages = h("ol", { class: "messages" });
  const typing = h("div", { id: "chat-typing", class: "typing", "aria-live": "polite" });
  const input = h("textarea", { rows: "2", placeholder: "Write a message…", "aria-label": "Message", disabled: true });
  const send = h("button", { type: "button", class: "send", disabled: true }, "Send");
  const status = h("p", { class: "status", hidden: true });
  fill(root, h("div", { class: "chat" },
    h("aside", {}, h("div", { class: "row between" }, h("strong", {}, "Conversations"),
      h("button", { type: "button", class: "tiny ghost", title: "Reload", onclick: () => loadList() }, "↻")), list),
    h("div", { class: "chat-main" }, header, messages, typing, h("div", { class: "composer" }, input, send), status)));

  let conversations = [];
  let current = null; // {id, conversation, sub, messages: Map seq→message, readUpTo: {buyer, vendor}, typers: Map}
  const unread = new Map();

  const userSub = rt.subscribe(`user:${me.id}`, {
    event(ev) {
      if (ev.type !== "chat.unread") return;
      unread.set(ev.data.conversation_id, ev.data.unread);
      if (!conversations.some((c) => c.id === ev.data.conversation_id)) loadList();
      else renderList();
    },
  });

  async function loadList() {
    try {
      const page = await session.api("chat/conversations/?limit=20");
      conversations = page.results || [];
      for (const c of conversations) unread.set(c.id, c.unread);
      renderList();
      if (!current && conversations.length) open(conversations[0].id);
      if (!conversations.length) fill(header, "No conversations yet. A buyer starts one from a product (POST /api/v1/chat/conversations/).");
    } catch (err) {
      flash(status, `conversations: ${errorText(err)}`, "error", 0);
    }
  }

  function titleOf(c) {
    return c.my_side === "buyer" ? c.vendor.name : c.buyer.name || "Buyer";
  }

  function renderList() {
    fill(list, conversations.map((c) => h("li", {
      class: current?.id === c.id ? "active" : "", dataset: { conversationId: c.id },
      onclick: () => open(c.id),
    }, h("div", { class: "row between" }, h("strong", {}, titleOf(c)),
      unread.get(c.id) ? h("span", { class: "badge", dataset: { unread: String(unread.get(c.id)) } }, String(unread.get(c.id))) : null),
    h("div", { class: "muted small" }, c.context?.title || ""))));
  }

  function open(id) {
    if (current?.id === id) return;
    close();
    const c = conversations.find((x) => x.id === id);
    current = { id, conversation: c, messages: new Map(), readUpTo: { buyer: 0, vendor: 0 }, typers: new Map(), mySide: c?.my_side };
    renderList();
    fill(header, c ? h("span", {}, h("strong", {}, titleOf(c)), " · ", c.context?.title || "") : id);
    fill(messages, h("li", { class: "muted" }, "Loading…"));
    const me_ = current;
    current.sub = rt.subscribe(`chat:${id}`, {
      snapshot(snap) {
        if (current !== me_) return;
        me_.conversation = snap.conversation;
        me_.mySide = snap.conversation.my_side;
        me_.messages = new Map(snap.messages.map((m) => [m.seq, m]));
        me_.readUpTo = { buyer: 0, vendor: 0, ...snap.read_up_to };
        me_.blocked = snap.conversation.blocked;
        renderMessages();
        markRead();
      },
      event(ev) {
        if (current !== me_) return;
        const d = ev.data;
        if (ev.type === "chat.message" || ev.type === "chat.message_updated") {
          me_.messages.set(d.seq, d);
          const side = d.sender.side;
          if (ev.type === "chat.message") {
            me_.readUpTo[side] = Math.max(me_.readUpTo[side] || 0, d.seq);
            me_.typers.delete(d.sender.id);
            renderTyping();
          }
          renderMessages();
          if (side !== me_.mySide) markRead();
        } else if (ev.type === "chat.read") {
          me_.readUpTo[d.side] = Math.max(me_.readUpTo[d.side] || 0, d.last_read_seq);
          renderMessages();
        } else if (ev.type === "chat.typing") {
          clearTimeout(me_.typers.get(d.user_id)?.timer);
          if (d.state === "start") {
            me_.typers.set(d.user_id, { name: d.name || d.side, timer: setTimeout(() => { me_.typers.delete(d.user_id); renderTyping(); }, d.expires_in_ms || 5000) });
          } else me_.typers.delete(d.user_id);
          renderTyping();
        } else if (ev.type === "chat.block_changed") {
          me_.blocked = d.blocked;
          renderMessages();
        }
      },
      error: (err) => flash(status, `chat: ${errorText(err)}`, "error", 0),
    });
    input.disabled = false;
    send.disabled = false;
  }

  function close() {
    if (!current) return;
    stopTyping();
    current.sub.unsubscribe();
    for (const t of current.typers.values()) clearTimeout(t.timer);
    current = null;
  }

  function renderMessages() {
    const c = current;
    const other = c.mySide === "buyer" ? "vendor" : "buyer";
    const sorted = [...c.messages.values()].sort((a, b) => a.seq - b.seq);
    fill(messages, sorted.map((m) => {
      const mine = m.sender.side === c.mySide;
      const read = (c.readUpTo[other] || 0) >= m.seq;
      return h("li", { class: `msg ${mine ? "mine" : "theirs"}${m.deleted ? " deleted" : ""}`, dataset: { seq: String(m.seq) } },
        h("div", { class: "meta" }, mine ? "You" : m.sender.name || m.sender.side, " · ", clock(m.created_at), m.edited_at ? " · edited" : ""),
        h("div", { class: "text" }, m.deleted ? "message deleted" : m.text),
        mine ? h("span", { class: "receipt", dataset: { state: read ? "read" : "sent" }, title: read ? "Read" : "Sent" }, read ? "✓✓ read" : "✓ sent") : null);
    }));
    if (c.blocked) messages.append(h("li", { class: "muted" }, "This conversation is blocked."));
    messages.scrollTop = messages.scrollHeight;
  }

  function renderTyping() {
    if (!current) return;
    const names = [...current.typers.values()].map((t) => t.name);
    typing.textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
    typing.dataset.active = names.length ? "1" : "";
  }

  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      const c = current;
      if (!c || document.visibilityState === "hidden") return;
      const last = Math.max(0, ...c.messages.keys());
      if (!last || (c.readUpTo[c.mySide] || 0) >= last) return;
      rt.command(`chat:${c.id}`, "read", { up_to_seq: last }).then((r) => {
        c.readUpTo[c.mySide] = Math.max(c.readUpTo[c.mySide] || 0, r.last_read_seq);
        unread.set(c.id, r.unread);
        renderList();
      }).catch((err) => flash(status, `read: ${errorText(err)}`, "error"));
    }, 200);
  }
  const onVisible = () => { if (document.visibilityState === "visible" && current) markRead(); };
  document.addEventListener("visibilitychange", onVisible);

  // typing: "start" when typing begins (repeated every 3 s), "stop" after 2.5 s idle or on send
  let typingSentAt = 0;
  let idleTimer = null;
  function typingCommand(state) {
    if (!current) return;
    rt.command(`chat:${current.id}`, "typing", { state }).catch(() => {}); // best effort (own rate bucket)
  }
  function stopTyping() {
    clearTimeout(idleTimer);
    if (typingSentAt) typingCommand("stop");
    typingSentAt = 0;
  }
  input.addEventListener("input", () => {
    if (!input.value.trim()) { stopTyping(); return; }
    if (Date.now() - typingSentAt > TYPING_REPEAT_MS) {
      typingSentAt = Date.now();
      typingCommand("start");
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendMessage(); }
  });
  send.addEventListener("click", sendMessage);

  async function sendMessage() {
    const text = input.value.trim();
    const c = current;
    if (!text || !c) return;
    const data = { text, client_msg_id: newId() };
    input.value = "";
    stopTyping();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const reply = await rt.command(`chat:${c.id}`, "send", data);
        if (current === c) {
          c.messages.set(reply.message.seq, reply.message);
          c.readUpTo[c.mySide] = Math.max(c.readUpTo[c.mySide] || 0, reply.message.seq);
          renderMessages();
        }
        return;
      } catch (err) {
        // The same client_msg_id makes a retry after a lost connection safe (no duplicate).
        if (err.code === "disconnected" && attempt < 2) continue;
        flash(status, `send: ${errorText(err)}`, "error");
        if (!input.value) input.value = text;
        return;
      }
    }
  }

  loadList();
  return {
    destroy() {
      close();
      userSub.unsubscribe();
      document.removeEventListener("visibilitychange", onVisible);
    },
  };
}
