/** Small DOM and formatting helpers shared by the console panels (no framework). */

/** h("div", {class: "x", onclick: fn, dataset: {id: 1}}, "text", child, [more]) → Element */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** "12.50" + "EUR" → "€12.50" (amounts stay strings from the API: no float arithmetic here). */
export function money(amount, currency = "EUR") {
  if (amount == null || amount === "") return "—";
  if (!currency) return String(amount);
  const symbol = { EUR: "€", USD: "$", GBP: "£" }[currency];
  return symbol ? `${symbol}${amount}` : `${amount} ${currency}`;
}

export function clock(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** A RealtimeError / ApiError as "code — detail". */
export function errorText(err) {
  if (!err) return "";
  if (err.code) return err.detail ? `${err.code} — ${err.detail}` : err.code;
  return String(err.message || err);
}

/** A short-lived message in a panel's status line. */
export function flash(el, text, kind = "info", ms = 6000) {
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(el._flashTimer);
  if (ms) el._flashTimer = setTimeout(() => { el.hidden = true; }, ms);
}

/** A state pill bound to a RealtimeClient ("open", "backoff", …). */
export function statePill(rt, label = "") {
  const pill = h("span", { class: "pill", dataset: { state: rt.state } }, `${label}${rt.state}`);
  rt.on("state", (s) => {
    pill.dataset.state = s;
    pill.textContent = `${label}${s}`;
  });
  return pill;
}

/** "not available" body for a panel whose backend does not exist yet. */
export function unavailable(title, detail) {
  return h("div", { class: "unavailable", dataset: { unavailable: "1" } },
    h("strong", {}, `${title}: not available`), h("p", {}, detail));
}

export function newId() {
  return globalThis.crypto?.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}
