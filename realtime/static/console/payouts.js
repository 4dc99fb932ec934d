/**
 * Payouts panel (the store's owners): bank details (IBAN and BIC, checked by the server; new or
 * changed details wait for marketplace staff to verify them), the money available to withdraw,
 * a withdrawal request (at least the store's minimum; sent with an Idempotency-Key so a retried
 * click cannot withdraw twice) and the history (requested → approved → paid with the bank's
 * reference, or rejected / cancelled; a requested one can be cancelled).
 *
 * REST: `GET/PUT vendors/{id}/payout-account/`, `GET/POST vendors/{id}/withdrawals/`,
 * `POST vendors/{id}/withdrawals/{id}/cancel/`. Live: `payout_account.updated` and
 * `withdrawal.updated` on the owner's `user:<id>` topic (staff verifying the details or paying a
 * withdrawal shows at once); each refreshes the account (its `available` balance).
 */

import { errorText, fill, flash, h, money, newId } from "./ui.js";
import { field, fullError, storePanel } from "./desk.js";

const STATE = { verified: "open", unverified: "backoff", rejected: "offline", requested: "backoff", approved: "backoff",
  paid: "open", cancelled: "idle" };

export function mount(root, ctx) {
  return storePanel(root, ctx, {
    roles: ["owner", "admin"],
    intro: "Withdraw the store's earnings to its bank account.",
    render: (body, store) => renderPayouts(body, ctx, store),
  });
}

function renderPayouts(body, { session, rt, me }, { vendor, role }) {
  const owner = role === "owner"; // marketplace admins read; only the store's owners set details and withdraw
  const base = `vendors/${vendor.id}/`;
  const status = h("p", { class: "status", hidden: true });
  const accountBox = h("div", { class: "payout-account" });
  const withdrawBox = h("div", { class: "withdraw" });
  const history = h("ul", { class: "withdrawals" });
  fill(body, status, accountBox, withdrawBox, h("h3", {}, "History"), history);
  let account = null;

  const holder = h("input", { name: "holder_name", required: true, maxlength: "140", placeholder: "Account holder" });
  const iban = h("input", { name: "iban", required: true, placeholder: "DE89 3704 0044 0532 0130 00", size: "30" });
  const bic = h("input", { name: "bic", required: true, placeholder: "COBADEFFXXX", size: "12" });
  const minimum = h("input", { name: "minimum_amount", inputmode: "decimal", placeholder: "25.00", size: "7" });
  const bankForm = h("form", { class: "bank-form" },
    h("div", { class: "row" }, field("Holder", holder), field("IBAN", iban), field("BIC", bic), field("Minimum", minimum)),
    h("button", { type: "submit", class: "save-bank" }, "Save bank details"));
  bankForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = { holder_name: holder.value.trim(), iban: iban.value.trim(), bic: bic.value.trim() };
    if (minimum.value.trim()) data.minimum_amount = minimum.value.trim();
    try {
      account = await session.api(`${base}payout-account/`, { method: "PUT", body: data });
      iban.value = "";
      renderAccount();
      flash(status, "Bank details saved: marketplace staff verify them before the first payout.", "ok");
    } catch (err) {
      flash(status, `bank details: ${fullError(err)}`, "error", 0);
    }
  });

  const amount = h("input", { name: "amount", inputmode: "decimal", placeholder: "100.00", size: "8", "aria-label": "Amount" });
  const withdrawButton = h("button", { type: "submit", class: "request-withdrawal" }, "Withdraw");
  const withdrawForm = h("form", { class: "row withdraw-form" }, amount, withdrawButton);
  let pendingKey = null; // the Idempotency-Key of the request being sent (kept on a retry of the same amount)
  let pendingAmount = null;
  withdrawForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = amount.value.trim();
    if (pendingAmount !== value) { pendingKey = newId(); pendingAmount = value; }
    withdrawButton.disabled = true;
    try {
      const w = await session.api(`${base}withdrawals/`, { method: "POST", body: { amount: value }, headers: { "Idempotency-Key": pendingKey } });
      pendingKey = pendingAmount = null;
      amount.value = "";
      flash(status, `Withdrawal of ${money(w.amount, w.currency)} requested.`, "ok");
      await refresh();
    } catch (err) {
      if (err.status && err.status < 500) pendingKey = pendingAmount = null; // refused: a new try is a new request
      flash(status, `withdraw: ${fullError(err)}`, "error", 0);
    } finally {
      withdrawButton.disabled = false;
    }
  });

  function renderAccount() {
    if (!account) {
      fill(accountBox, h("p", { class: "muted", dataset: { bank: "missing" } }, "No bank details yet."), owner ? bankForm : null);
      fill(withdrawBox);
      return;
    }
    holder.value = account.holder_name;
    bic.value = account.bic;
    minimum.value = account.minimum_amount;
    fill(accountBox,
      h("div", { class: "row", dataset: { bank: account.status } },
        h("span", {}, `${account.holder_name} · `, h("code", {}, account.iban), ` · ${account.bic}`),
        h("span", { class: "pill", dataset: { state: STATE[account.status] || "idle" } }, account.status),
        account.status_reason ? h("em", { class: "small" }, account.status_reason) : null),
      owner ? h("details", {}, h("summary", { class: "small" }, "Change bank details"), bankForm) : null);
    fill(withdrawBox,
      h("p", {}, "Available: ", h("strong", { class: "available" }, money(account.available, account.currency)),
        h("span", { class: "muted small" }, ` · minimum ${money(account.minimum_amount, account.currency)}`)),
      !owner ? null : account.status === "verified" ? withdrawForm
        : h("p", { class: "muted small" }, "Withdrawals are paid only to verified bank details."));
  }

  function renderHistory(items) {
    fill(history, items.length ? items.map((w) => h("li", { dataset: { withdrawal: w.id, status: w.status } },
      h("span", { class: "name" }, money(w.amount, w.currency), " ", h("span", { class: "muted small" }, new Date(w.created_at).toLocaleString())),
      h("span", { class: "pill", dataset: { state: STATE[w.status] || "idle" } }, w.status),
      w.bank_reference ? h("span", { class: "small" }, `ref ${w.bank_reference}`) : null,
      w.reason ? h("em", { class: "small" }, w.reason) : null,
      w.status === "requested" && owner ? h("button", { type: "button", class: "tiny ghost cancel-withdrawal", onclick: async () => {
        try {
          await session.api(`${base}withdrawals/${w.id}/cancel/`, { method: "POST" });
          await refresh();
        } catch (err) {
          flash(status, `cancel: ${errorText(err)}`, "error", 0);
        }
      } }, "cancel") : null)) : h("li", { class: "muted empty" }, "No withdrawals yet."));
  }

  async function refresh() {
    try {
      account = await session.api(`${base}payout-account/`);
    } catch (err) {
      if (err.code !== "payout_account_not_found") flash(status, `payout account: ${errorText(err)}`, "error", 0);
      account = null;
    }
    renderAccount();
    try {
      renderHistory((await session.api(`${base}withdrawals/?limit=20`)).results || []);
    } catch (err) {
      flash(status, `withdrawals: ${errorText(err)}`, "error", 0);
    }
  }

  const sub = rt.subscribe(`user:${me.id}`, {
    event: (ev) => {
      const data = ev.data?.account || ev.data?.withdrawal;
      if ((ev.type === "payout_account.updated" || ev.type === "withdrawal.updated") && data?.vendor?.id === vendor.id) refresh();
    },
  });
  refresh();
  return { destroy() { sub.unsubscribe(); } };
}
