/**
 * Store panel (the store's staff): the profile (its owners edit it: name, description, contact
 * e-mail and phone, address, website, tax id, which contact details are public) and the logo
 * upload, and the staff (its owners invite by e-mail with a role, change roles, remove members;
 * pending invitations with their expiry, revocable).
 *
 * REST: `GET/PATCH vendors/{id}/`, `PUT/DELETE vendors/{id}/logo/` (multipart `logo`),
 * `GET vendors/{id}/staff/`, `PATCH/DELETE vendors/{id}/staff/{user_id}/`,
 * `GET/POST vendors/{id}/invitations/`, `DELETE vendors/{id}/invitations/{id}/`. Live: the
 * store's `vendor:<id>` topic; `store.updated` re-renders the profile, `store.staff_changed`
 * reloads the staff (another owner's change shows at once).
 */

import { errorText, fill, flash, h } from "./ui.js";
import { field, fullError, storePanel } from "./desk.js";

const ROLES = ["owner", "manager", "staff"];

export function mount(root, ctx) {
  return storePanel(root, ctx, {
    intro: "Your store's profile and staff. Owners edit; managers and staff read.",
    render: (body, store) => renderStore(body, ctx, store),
  });
}

function renderStore(body, { session, rt, me }, { vendor: initial, role }) {
  const owner = role === "owner" || role === "admin";
  const base = `vendors/${initial.id}/`;
  let vendor = initial;
  const status = h("p", { class: "status", hidden: true });
  const profileBox = h("div", { class: "store-profile" });
  const staffBox = h("div", { class: "store-staff" });
  fill(body, status, h("h3", {}, "Profile"), profileBox, h("h3", {}, "Staff"), staffBox);

  // --- profile ------------------------------------------------------------------------------
  const input = (name, value, attrs = {}) => h("input", { name, value: value ?? "", disabled: !owner, ...attrs });
  function renderProfile() {
    const addr = vendor.address || {};
    const logo = vendor.logo_url
      ? h("img", { class: "store-logo", src: vendor.logo_url, alt: `${vendor.name} logo` })
      : h("div", { class: "store-logo empty" }, "no logo");
    const logoInput = h("input", { type: "file", accept: "image/jpeg,image/png,image/gif,image/webp", name: "logo", disabled: !owner });
    const form = h("form", { class: "store-form" },
      field("Name", input("name", vendor.name, { required: true, maxlength: "120" })),
      field("Description", h("textarea", { name: "description", rows: "2", disabled: !owner }, vendor.description || "")),
      h("div", { class: "row" },
        field("Contact e-mail", input("contact_email", vendor.contact_email, { type: "email" })),
        field("Phone", input("contact_phone", vendor.contact_phone, { placeholder: "+4930…" }))),
      h("div", { class: "row" },
        field("Street", input("line1", addr.line1)),
        field("Postcode", input("postal_code", addr.postal_code, { size: "8" })),
        field("City", input("city", addr.city)),
        field("Country", input("country", addr.country, { size: "2", maxlength: "2", placeholder: "DE" }))),
      h("div", { class: "row" },
        field("Website", input("website", vendor.website, { placeholder: "https://…" })),
        field("Tax id", input("tax_id", vendor.tax_id, { placeholder: "DE123456789" }))),
      h("div", { class: "row checks" }, ["email_public", "phone_public", "address_public"].map((name) =>
        h("label", {}, h("input", { type: "checkbox", name, checked: !!vendor[name], disabled: !owner }), ` ${name.replace("_public", "")} public`))),
      owner ? h("button", { type: "submit", class: "save-profile" }, "Save profile") : null);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = form.elements;
      const changes = {
        name: f.name.value.trim(), description: f.description.value, contact_email: f.contact_email.value.trim(),
        contact_phone: f.contact_phone.value.trim(), website: f.website.value.trim(), tax_id: f.tax_id.value.trim(),
        address: { line1: f.line1.value, postal_code: f.postal_code.value, city: f.city.value, country: f.country.value.trim().toUpperCase() },
        email_public: f.email_public.checked, phone_public: f.phone_public.checked, address_public: f.address_public.checked,
      };
      try {
        vendor = await session.api(base, { method: "PATCH", body: changes });
        renderProfile();
        flash(status, "Profile saved.", "ok");
      } catch (err) {
        flash(status, `save: ${fullError(err)}`, "error", 0);
      }
    });
    const upload = h("button", { type: "button", class: "upload-logo", disabled: !owner }, "Upload logo");
    upload.addEventListener("click", async () => {
      const file = logoInput.files[0];
      if (!file) return flash(status, "Choose an image first.", "error");
      const data = new FormData();
      data.append("logo", file);
      try {
        vendor = await session.api(`${base}logo/`, { method: "PUT", body: data });
        renderProfile();
        flash(status, "Logo uploaded.", "ok");
      } catch (err) {
        flash(status, `logo: ${fullError(err)}`, "error", 0);
      }
    });
    const removeLogo = vendor.logo_url && owner ? h("button", { type: "button", class: "ghost remove-logo", onclick: async () => {
      try {
        vendor = await session.api(`${base}logo/`, { method: "DELETE" });
        renderProfile();
      } catch (err) {
        flash(status, `logo: ${errorText(err)}`, "error", 0);
      }
    } }, "Remove logo") : null;
    fill(profileBox,
      h("div", { class: "logo-row" }, logo, owner ? h("div", {}, logoInput, upload, removeLogo) : null,
        h("span", { class: "pill", dataset: { state: vendor.status === "active" ? "open" : "backoff" } }, vendor.status)),
      form);
  }

  // --- staff --------------------------------------------------------------------------------
  async function loadStaff() {
    try {
      const [members, invitations] = await Promise.all([
        session.api(`${base}staff/`),
        owner ? session.api(`${base}invitations/`) : Promise.resolve([]),
      ]);
      renderStaff(members, invitations);
    } catch (err) {
      fill(staffBox, h("p", { class: "status", dataset: { kind: "error" } }, `staff: ${errorText(err)}`));
    }
  }

  const act = (label, fn) => async () => {
    try {
      await fn();
      await loadStaff();
    } catch (err) {
      flash(status, `${label}: ${fullError(err)}`, "error", 0);
    }
  };

  function renderStaff(members, invitations) {
    const rows = members.map((m) => {
      const roleSelect = h("select", { "aria-label": "Role", disabled: !owner || m.account_holder },
        ROLES.map((r) => h("option", { value: r, selected: r === m.role }, r)));
      roleSelect.addEventListener("change", act("role", () =>
        session.api(`${base}staff/${m.user_id}/`, { method: "PATCH", body: { role: roleSelect.value } })));
      return h("li", { dataset: { member: m.email, role: m.role } },
        h("span", { class: "name" }, m.display_name || m.email, " ", h("span", { class: "muted small" }, m.email),
          m.account_holder ? h("em", { class: "muted small" }, " · account holder") : null,
          m.user_id === me.id ? h("em", { class: "muted small" }, " · you") : null),
        roleSelect,
        owner && !m.account_holder ? h("button", { type: "button", class: "tiny ghost remove-member", title: "Remove from the staff",
          onclick: act("remove", () => session.api(`${base}staff/${m.user_id}/`, { method: "DELETE" })) }, "×") : null);
    });
    const pending = invitations.filter((i) => i.status === "pending").map((i) =>
      h("li", { class: i.expired ? "warn" : "", dataset: { invitation: i.email } },
        h("span", { class: "name" }, i.email, " ", h("span", { class: "muted small" },
          `${i.role} · ${i.expired ? "expired" : "expires " + new Date(i.expires_at).toLocaleString()}`)),
        h("button", { type: "button", class: "tiny ghost revoke", title: "Revoke",
          onclick: act("revoke", () => session.api(`${base}invitations/${i.id}/`, { method: "DELETE" })) }, "×")));
    let invite = null;
    if (owner) {
      const email = h("input", { type: "email", name: "email", required: true, placeholder: "new.member@example.com", "aria-label": "E-mail" });
      const inviteRole = h("select", { name: "role", "aria-label": "Role" }, ROLES.map((r) => h("option", { value: r, selected: r === "staff" }, r)));
      invite = h("form", { class: "row invite-form" }, email, inviteRole, h("button", { type: "submit" }, "Invite"));
      invite.addEventListener("submit", (event) => {
        event.preventDefault();
        act("invite", async () => {
          await session.api(`${base}invitations/`, { method: "POST", body: { email: email.value.trim(), role: inviteRole.value } });
          flash(status, `Invitation sent to ${email.value.trim()}.`, "ok");
        })();
      });
    }
    fill(staffBox, h("ul", { class: "staff-list" }, rows),
      pending.length ? [h("p", { class: "muted small" }, "Pending invitations (the link expires):"), h("ul", { class: "invitation-list" }, pending)] : null,
      invite);
  }

  renderProfile();
  loadStaff();
  const sub = rt.subscribe(`vendor:${initial.id}`, {
    event: (ev) => {
      if (ev.type === "store.updated") { vendor = { ...vendor, ...ev.data.vendor }; renderProfile(); }
      if (ev.type === "store.staff_changed") loadStaff();
    },
  });
  return { destroy() { sub.unsubscribe(); } };
}
