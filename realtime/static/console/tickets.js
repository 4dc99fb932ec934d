/**
 * Support tickets panel: the requester's view and, for support agents (marketplace admins), the
 * staff view.
 *
 *  - Requester: their tickets (GET /api/v1/support/tickets/), a form that opens one (POST the
 *    same: as a buyer, as a courier, or for a store they are staff of; category, priority,
 *    subject, the first message and optionally one of their orders, or of that store's), and one open ticket live on `ticket:<id>`: the snapshot's messages (an attached image
 *    is uploaded first, multipart POST …/attachments/, then sent by id), then
 *    `ticket.message_added`, `ticket.updated`, `ticket.read` (read receipts) and the ephemeral
 *    `ticket.typing`. Messages go with the `send` command (a client_msg_id makes a retry safe);
 *    `read` marks the thread read. The requester may resolve, close or reopen (POST
 *    …/transition/).
 *  - Staff: the live queue on `support_queue:all` (snapshot `{tickets}`, then `ticket.updated`
 *    for any ticket; active ones are kept, most urgent first, then oldest), filtered all /
 *    unassigned / mine, overdue tickets flagged; on a ticket: assign to me (POST …/assign/), a
 *    public reply (the same `send`), any status move, and internal notes (the snapshot's `notes`
 *    for agents, POST …/notes/, new ones as `ticket.note_added` on the queue topic). Notes never
 *    travel on `ticket:<id>`, so a requester's page cannot receive them.
 */

import { staffStores } from "./after_sales.js";
import { privateImage } from "./media.js";
import { clock, errorText, fill, flash, h, newId } from "./ui.js";

const CATEGORIES = ["order", "payment", "delivery", "return", "account", "other"];
const PRIORITY_RANK = { urgent: 0, high: 1, normal: 2, low: 3 };
const ACTIVE = new Set(["open", "pending_customer", "pending_staff"]);
const STATUSES = ["open", "pending_customer", "pending_staff", "resolved", "closed"];

export function mount(root, { session, rt, me }) {
  const isAgent = (me.roles || []).includes("admin");
  const mine = h("ul", { class: "tickets mine" });
  const queueList = h("ul", { class: "tickets queue" });
  const queueView = h("select", { class: "queue-view", "aria-label": "Queue view" },
    ["all", "unassigned", "mine"].map((v) => h("option", { value: v }, v)));
  const thread = h("div", { class: "ticket-thread" }, h("p", { class: "muted" }, "No ticket selected."));
  const status = h("p", { class: "status", hidden: true });

  const form = newTicketForm();
  fill(root, h("div", { class: "tickets-grid" },
    h("aside", {},
      isAgent ? h("div", { class: "staff-queue" }, h("div", { class: "row between" }, h("strong", {}, "Staff queue"), queueView), queueList) : null,
      h("div", { class: "row between" }, h("strong", {}, "My tickets"),
        h("button", { type: "button", class: "tiny ghost", title: "Reload", onclick: () => loadMine() }, "↻")),
      mine, form.el),
    thread), status);

  let myTickets = [];
  const queue = new Map();
  let current = null; // {id, sub, ticket, messages: Map seq → message, notes: [] | null, readUpTo: {requester, staff}, side}
  let queueSub = null;

  // --- lists ---

  async function loadMine() {
    try {
      const page = await session.api("support/tickets/?limit=20");
      myTickets = page.results || [];
      renderMine();
    } catch (err) {
      flash(status, `tickets: ${errorText(err)}`, "error", 0);
    }
  }

  function ticketItem(t, where) {
    return h("li", {
      class: `ticket${current?.id === t.id ? " active" : ""}`, dataset: { ticketId: t.id, status: t.status, where },
      onclick: () => open(t.id),
    },
    h("div", { class: "row between" }, h("strong", {}, t.subject),
      h("span", { class: "pill ticket-status", dataset: { state: t.status } }, t.status.replaceAll("_", " "))),
    h("div", { class: "muted small" }, `${t.category} · ${t.priority}`,
      where === "queue" ? ` · ${t.requester.name || "?"} (${t.requester.role}) · ${t.assignee ? `→ ${t.assignee.name}` : "unassigned"}` : "",
      t.overdue ? h("span", { class: "overdue" }, " · overdue") : null));
  }

  function renderMine() {
    fill(mine, myTickets.length ? myTickets.map((t) => ticketItem(t, "mine")) : h("li", { class: "muted" }, "You have not contacted support."));
  }

  function renderQueue() {
    const view = queueView.value;
    const rows = [...queue.values()]
      .filter((t) => view === "all" || (view === "unassigned" ? !t.assignee : t.assignee?.id === me.id))
      .sort((a, b) => (PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority]) || (a.created_at < b.created_at ? -1 : 1));
    fill(queueList, rows.length ? rows.map((t) => ticketItem(t, "queue")) : h("li", { class: "muted" }, "Nothing waiting."));
  }
  queueView.addEventListener("change", renderQueue);

  function upsertTicket(t) {
    // events and REST replies may cross: keep the newest state (updated_at, ISO 8601 UTC)
    const known = (current?.id === t.id && current.ticket) || queue.get(t.id) || myTickets.find((x) => x.id === t.id);
    if (known && known.updated_at > t.updated_at) return;
    const i = myTickets.findIndex((x) => x.id === t.id);
    if (i >= 0) myTickets[i] = t;
    else if (t.requester.id === me.id) myTickets.unshift(t);
    renderMine();
    if (isAgent) {
      if (ACTIVE.has(t.status)) queue.set(t.id, t);
      else queue.delete(t.id);
      renderQueue();
    }
    if (current?.id === t.id) { current.ticket = t; renderThread(); }
  }

  // The requester's other tickets are not followed; support's notifications (support.reply on
  // user:) say one of them changed.
  const userSub = rt.subscribe(`user:${me.id}`, {
    event(ev) {
      if (ev.type === "notification.created" && String(ev.data.kind || "").startsWith("support.")) loadMine();
    },
  });

  if (isAgent) {
    queueSub = rt.subscribe("support_queue:all", {
      snapshot(snap) {
        queue.clear();
        for (const t of snap.tickets || []) queue.set(t.id, t);
        renderQueue();
      },
      event(ev) {
        if (ev.type === "ticket.updated") upsertTicket(ev.data);
        else if (ev.type === "ticket.note_added" && current?.id === ev.data.ticket_id && current.notes) {
          if (!current.notes.some((n) => n.id === ev.data.id)) current.notes.push(ev.data);
          renderThread();
        }
      },
      error: (err) => flash(status, `queue: ${errorText(err)}`, "error", 0),
    });
  }

  // --- new ticket ---

  function newTicketForm() {
    // who speaks: as a buyer; as a courier (the courier role); for a store the user is staff of
    const as = h("select", { name: "role", "aria-label": "Open as" }, h("option", { value: "buyer" }, "as a buyer"),
      (me.roles || []).includes("courier") ? h("option", { value: "courier" }, "as a courier") : null);
    const category = h("select", { name: "category", "aria-label": "Category" }, CATEGORIES.map((c) => h("option", { value: c }, c)));
    const priority = h("select", { name: "priority", "aria-label": "Priority" }, ["normal", "low", "high"].map((p) => h("option", { value: p }, p)));
    const order = h("select", { name: "order", "aria-label": "Order" });
    const subject = h("input", { type: "text", name: "subject", placeholder: "Subject", "aria-label": "Subject" });
    const text = h("textarea", { name: "text", rows: "2", placeholder: "How can we help?", "aria-label": "First message" });
    const submit = h("button", { type: "button", class: "open-ticket" }, "Contact support");
    const el = h("details", { class: "new-ticket" }, h("summary", {}, "New ticket"),
      h("div", { class: "row" }, as, category, priority), h("div", { class: "row" }, order), subject, text, submit);

    // an order to link: one of the buyer's own, or of the store spoken for (the service refuses others)
    async function loadOrders() {
      fill(order, h("option", { value: "" }, "no order"));
      const [role, vendorId] = as.value.split(":");
      if (role === "courier") return;
      const path = role === "store" ? `vendor/orders/?vendor=${vendorId}&limit=20` : "orders/?limit=20";
      try {
        for (const o of (await session.api(path)).results || []) order.append(h("option", { value: o.id }, `${o.number} (${o.status})`));
      } catch { /* the ticket can be opened without one */ }
    }
    as.addEventListener("change", loadOrders);
    loadOrders();
    staffStores(session, me).then((stores) => {
      for (const v of stores) as.append(h("option", { value: `store:${v.id}` }, `for ${v.name}`));
    }).catch(() => {});

    submit.addEventListener("click", async () => {
      submit.disabled = true;
      const [role, vendorId] = as.value.split(":");
      try {
        const t = await session.api("support/tickets/", {
          method: "POST",
          body: { role, vendor_id: vendorId || null, category: category.value, priority: priority.value,
            subject: subject.value.trim(), text: text.value.trim(), order_id: order.value || null },
        });
        subject.value = "";
        text.value = "";
        el.open = false;
        upsertTicket(t);
        open(t.id);
      } catch (err) {
        flash(status, `open: ${errorText(err)}`, "error");
      } finally {
        submit.disabled = false;
      }
    });
    return { el };
  }

  // --- one ticket ---

  function close() {
    if (!current) return;
    current.sub.unsubscribe();
    for (const t of current.typers.values()) clearTimeout(t.timer);
    current = null;
  }

  function open(id) {
    if (current?.id === id) return;
    close();
    const c = { id, ticket: null, messages: new Map(), notes: null, readUpTo: {}, typers: new Map() };
    current = c;
    renderMine();
    if (isAgent) renderQueue();
    fill(thread, h("p", { class: "muted" }, "Loading…"));
    c.sub = rt.subscribe(`ticket:${id}`, {
      snapshot(snap) {
        if (current !== c) return;
        c.ticket = snap.ticket;
        c.side = snap.ticket.requester.id === me.id ? "requester" : "staff";
        c.messages = new Map(snap.messages.map((m) => [m.seq, m]));
        c.notes = Array.isArray(snap.notes) ? [...snap.notes] : null;
        c.readUpTo = { ...(snap.read_up_to || {}) };
        renderThread();
        markRead();
      },
      event(ev) {
        if (current !== c) return;
        const d = ev.data;
        if (ev.type === "ticket.message_added") {
          c.messages.set(d.seq, d);
          c.readUpTo[d.sender.side] = Math.max(c.readUpTo[d.sender.side] || 0, d.seq);
          c.typers.delete(d.sender.id);
          renderThread();
          if (d.sender.side !== c.side) markRead();
        } else if (ev.type === "ticket.updated") {
          upsertTicket(d);
        } else if (ev.type === "ticket.read") {
          c.readUpTo[d.side] = Math.max(c.readUpTo[d.side] || 0, d.last_read_seq);
          renderThread();
        } else if (ev.type === "ticket.typing") {
          clearTimeout(c.typers.get(d.user_id)?.timer);
          if (d.state === "start") {
            c.typers.set(d.user_id, { name: d.name || d.side, timer: setTimeout(() => { c.typers.delete(d.user_id); renderTyping(); }, d.expires_in_ms || 5000) });
          } else c.typers.delete(d.user_id);
          renderTyping();
        }
      },
      error: (err) => fill(thread, h("p", { class: "status", dataset: { kind: "error" } }, `ticket: ${errorText(err)}`)),
    });
  }

  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      const c = current;
      if (!c) return;
      const last = Math.max(0, ...c.messages.keys());
      if (!last || (c.readUpTo[c.side] || 0) >= last) return;
      rt.command(`ticket:${c.id}`, "read", { up_to_seq: last }).catch((err) => flash(status, `read: ${errorText(err)}`, "error"));
    }, 200);
  }

  const typingLine = h("div", { class: "typing ticket-typing", "aria-live": "polite" });
  function renderTyping() {
    if (!current) return;
    const names = [...current.typers.values()].map((t) => t.name);
    typingLine.textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  }

  async function run(label, fn) {
    try {
      await fn();
    } catch (err) {
      flash(status, `${label}: ${errorText(err)}`, "error");
    }
  }

  const transition = (to) => run("status", async () => upsertTicket(await session.api(`support/tickets/${current.id}/transition/`, { method: "POST", body: { status: to } })));

  /** The thread's elements, made once per opened ticket (a draft survives live updates). */
  function threadView(c) {
    const v = {
      head: h("div", { class: "chat-head row between" }),
      overdue: h("p", { class: "status", dataset: { kind: "error" }, hidden: true }),
      messages: h("ol", { class: "messages ticket-messages" }),
      closedNote: h("p", { class: "muted small", hidden: true }),
      input: h("textarea", { rows: "2", class: "ticket-input", "aria-label": "Message" }),
      send: h("button", { type: "button", class: "ticket-send" }, "Send"),
      file: h("input", { type: "file", class: "ticket-file", accept: "image/jpeg,image/png,image/gif,image/webp", hidden: true }),
      controls: h("div", { class: "row ticket-controls" }),
      notes: h("div", { class: "notes", hidden: true }),
      noteList: h("ul", { class: "note-list" }),
      noteInput: h("input", { type: "text", class: "note-input", placeholder: "Internal note (never shown to the requester)", "aria-label": "Internal note" }),
      noteAdd: h("button", { type: "button", class: "tiny ghost note-add" }, "Add note"),
    };
    const clip = h("span", {}, "📎");
    v.attach = h("label", { class: "attach-label small muted", title: "Attach an image (JPEG, PNG, GIF, WebP; 5 MiB)" }, clip, v.file);
    v.file.addEventListener("change", () => { clip.textContent = v.file.files.length ? `📎 ${v.file.files[0].name}` : "📎"; });
    v.composer = h("div", { class: "composer" }, v.input, v.attach, v.send);
    fill(v.notes, h("strong", { class: "small" }, "Internal notes"), v.noteList, h("div", { class: "row" }, v.noteInput, v.noteAdd));
    let typingSent = 0;
    v.input.addEventListener("input", () => {
      if (v.input.value.trim() && Date.now() - typingSent > 3000) {
        typingSent = Date.now();
        rt.command(`ticket:${c.id}`, "typing", { state: "start" }).catch(() => {}); // best effort
      }
    });
    const sendMessage = () => run("send", async () => {
      const text = v.input.value.trim();
      const file = v.file.files[0];
      if (!text) return;
      v.send.disabled = true;
      try {
        const data = { text, client_msg_id: newId() }; // the same client_msg_id makes a retry safe (no duplicate)
        if (file) { // uploaded first (decoded and re-encoded by the server), then sent by id
          const body = new FormData();
          body.append("file", file);
          data.attachment_id = (await session.api(`support/tickets/${c.id}/attachments/`, { method: "POST", body })).id;
        }
        const reply = await rt.command(`ticket:${c.id}`, "send", data);
        v.input.value = "";
        v.file.value = "";
        v.file.dispatchEvent(new Event("change"));
        typingSent = 0;
        if (current === c) { c.messages.set(reply.message.seq, reply.message); renderThread(); }
      } finally {
        v.send.disabled = false;
      }
    });
    v.send.addEventListener("click", sendMessage);
    v.input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendMessage(); } });
    v.noteAdd.addEventListener("click", () => run("note", async () => {
      const text = v.noteInput.value.trim();
      if (!text) return;
      const note = await session.api(`support/tickets/${c.id}/notes/`, { method: "POST", body: { text } });
      v.noteInput.value = "";
      if (current === c && !c.notes.some((n) => n.id === note.id)) c.notes.push(note);
      renderThread();
    }));
    fill(thread, v.head, v.overdue, v.messages, typingLine, v.closedNote, v.composer, v.controls, v.notes);
    return v;
  }

  function renderThread() {
    const c = current;
    if (!c?.ticket) return;
    const t = c.ticket;
    const v = c.view || (c.view = threadView(c));
    const other = c.side === "requester" ? "staff" : "requester";
    v.input.placeholder = c.side === "staff" ? "Public reply to the requester…" : "Write to support…";
    v.send.textContent = c.side === "staff" ? "Reply" : "Send";
    fill(v.head,
      h("span", {}, h("strong", {}, t.subject), h("span", { class: "muted small" }, ` · ${t.category} · ${t.priority}`,
        t.assignee ? ` · ${t.assignee.name}` : " · unassigned")),
      h("span", { class: "pill ticket-status", dataset: { state: t.status } }, t.status.replaceAll("_", " ")));
    v.overdue.hidden = !t.overdue;
    v.overdue.textContent = t.overdue ? `Overdue: no first response by ${new Date(t.first_response_due_at).toLocaleString()}` : "";
    const sorted = [...c.messages.values()].sort((a, b) => a.seq - b.seq);
    fill(v.messages, sorted.map((m) => {
      const own = m.sender.side === c.side;
      const read = (c.readUpTo[other] || 0) >= m.seq;
      return h("li", { class: `msg ${own ? "mine" : "theirs"}`, dataset: { seq: String(m.seq), side: m.sender.side } },
        h("div", { class: "meta" }, own ? "You" : `${m.sender.name || m.sender.side}${m.sender.side === "staff" ? " (support)" : ""}`, " · ", clock(m.created_at)),
        h("div", { class: "text" }, m.text),
        m.attachment ? privateImage(session, m.attachment.url, "attachment") : null,
        own ? h("span", { class: "receipt", dataset: { state: read ? "read" : "sent" } }, read ? "✓✓ read" : "✓ sent") : null);
    }));
    v.messages.scrollTop = v.messages.scrollHeight;
    const finished = t.status === "resolved" || t.status === "closed";
    v.composer.hidden = finished;
    v.closedNote.hidden = !finished;
    v.closedNote.textContent = t.status === "resolved"
      ? `Resolved${t.reopen_until ? `; it may be reopened until ${new Date(t.reopen_until).toLocaleString()}` : ""}.` : "Closed.";

    const controls = [];
    const move = (to, label) => h("button", { type: "button", class: "tiny ghost", dataset: { to }, onclick: () => transition(to) }, label);
    if (c.side === "requester") {
      if (ACTIVE.has(t.status)) controls.push(move("resolved", "My problem is solved"));
      if (t.status === "resolved") controls.push(move("open", "Reopen"), move("closed", "Close"));
    } else {
      if (t.assignee?.id !== me.id) {
        controls.push(h("button", { type: "button", class: "tiny assign-me", onclick: () => run("assign", async () =>
          upsertTicket(await session.api(`support/tickets/${c.id}/assign/`, { method: "POST", body: { assignee_id: me.id } }))) }, "Assign to me"));
      }
      const to = h("select", { class: "ticket-move", "aria-label": "Move to" },
        STATUSES.filter((s) => s !== t.status).map((s) => h("option", { value: s }, s.replaceAll("_", " "))));
      controls.push(to, h("button", { type: "button", class: "tiny ghost", onclick: () => transition(to.value) }, "Move"));
    }
    fill(v.controls, controls);
    v.notes.hidden = !c.notes;
    fill(v.noteList, (c.notes || []).map((n) => h("li", { class: "note", dataset: { noteId: n.id } },
      h("span", { class: "muted small" }, `${n.author?.name || "agent"} · ${clock(n.created_at)} `), n.text)));
    renderTyping();
  }

  loadMine();
  return {
    destroy() {
      close();
      userSub.unsubscribe();
      queueSub?.unsubscribe();
      clearTimeout(readTimer);
    },
  };
}
