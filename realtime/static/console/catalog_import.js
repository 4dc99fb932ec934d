/**
 * Catalogue import panel (the store's owners and managers): upload a CSV or XLSX file, watch the
 * job's progress bar move live, read the errors so far, download the per-row error report (CSV)
 * and the store's catalogue (the same columns: export → import changes nothing).
 *
 * REST: `POST vendors/{id}/catalog-imports/` (multipart `file`: 202, the queued import),
 * `GET vendors/{id}/catalog-imports/`, `GET …/{import_id}/` (with `errors`),
 * `GET …/{import_id}/errors/` (CSV), `GET vendors/{id}/catalog-export/?file_format=csv|xlsx`.
 * Downloads go through `session.api(…, {as: "blob"})`: the token stays in a header.
 * Live: `catalog_import.progress` on `vendor:<id>` (rows done of total, created, updated,
 * unchanged, errors so far; `done`/`failed` ends the import). Each import keeps the highest
 * `rows_done` shown (an older event or list answer never moves a bar back).
 */

import { errorText, fill, flash, h } from "./ui.js";
import { fullError, saveBlob, storePanel } from "./desk.js";

/** how far an import got: an answer of a lower rank (or fewer rows at the same rank) is older */
const RANK = { queued: 0, running: 1, done: 2, failed: 2 };

export function mount(root, ctx) {
  return storePanel(root, ctx, {
    roles: ["owner", "manager", "admin"],
    intro: "Load products from a spreadsheet: name, sku, price, currency, stock, category path, brand, attributes (key=value;…), images.",
    render: (body, store) => renderImports(body, ctx, store), // admins read imports and export; only staff upload
  });
}

function percent(job) {
  if (job.status === "done") return 100;
  return job.total_rows ? Math.floor((100 * job.rows_done) / job.total_rows) : 0;
}

function renderImports(body, { session, rt }, { vendor, role }) {
  const base = `vendors/${vendor.id}/`;
  const status = h("p", { class: "status", hidden: true });
  const file = h("input", { type: "file", name: "file", accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "aria-label": "Catalogue file" });
  const uploadButton = h("button", { type: "button", class: "start-import" }, "Import");
  const exportCsv = h("button", { type: "button", class: "ghost export", dataset: { format: "csv" } }, "Export CSV");
  const exportXlsx = h("button", { type: "button", class: "ghost export", dataset: { format: "xlsx" } }, "Export XLSX");
  const list = h("ul", { class: "imports" });
  fill(body, h("div", { class: "row" }, role === "admin" ? null : [file, uploadButton], exportCsv, exportXlsx), status, list);
  const jobs = new Map(); // import id → {job, el}

  function upsert(job) {
    const known = jobs.get(job.id);
    if (known && (RANK[job.status] < RANK[known.job.status]
      || (RANK[job.status] === RANK[known.job.status] && job.rows_done < known.job.rows_done))) return;
    const entry = known || { el: h("li", { class: "import" }) };
    entry.job = { ...(known?.job || {}), ...job };
    jobs.set(job.id, entry);
    draw(entry);
    if (!known) list.prepend(entry.el);
    list.querySelector(".empty")?.remove();
  }

  function draw(entry) {
    const job = entry.job;
    const pct = percent(job);
    entry.el.dataset.importId = job.id;
    entry.el.dataset.status = job.status;
    entry.el.dataset.percent = String(pct);
    const report = job.error_count ? h("button", { type: "button", class: "tiny ghost error-report", onclick: () => download(
      `${base}catalog-imports/${job.id}/errors/`, `import-${job.id}-errors.csv`) }, "error report (CSV)") : null;
    const details = job.error_count ? h("button", { type: "button", class: "tiny ghost show-errors", onclick: () => showErrors(entry) }, "show errors") : null;
    fill(entry.el,
      h("div", { class: "row tight" }, h("strong", {}, job.file_name), h("span", { class: "pill", dataset: { state: job.status === "failed" ? "offline" : job.status === "done" ? "open" : "backoff" } }, job.status)),
      h("progress", { class: "import-progress", max: "100", value: String(pct), "aria-label": `${job.file_name} progress` }),
      h("span", { class: "progress-text small" }, `${pct} % · ${job.rows_done}/${job.total_rows} rows · ${job.created} created, ${job.updated} updated, ${job.unchanged} unchanged, ${job.error_count} errors`),
      job.detail ? h("p", { class: "status", dataset: { kind: "error" } }, job.detail) : null,
      h("div", { class: "row tight" }, details, report),
      entry.errorsEl || null);
  }

  async function showErrors(entry) {
    try {
      const detail = await session.api(`${base}catalog-imports/${entry.job.id}/`);
      entry.errorsEl = h("table", { class: "import-errors small" },
        h("tr", {}, ["line", "sku", "column", "message"].map((t) => h("th", {}, t))),
        detail.errors.slice(0, 50).map((e) => h("tr", {}, h("td", {}, String(e.line)), h("td", {}, e.sku), h("td", {}, e.field), h("td", {}, e.message))));
      draw(entry);
    } catch (err) {
      flash(status, `errors: ${errorText(err)}`, "error", 0);
    }
  }

  async function download(path, name) {
    try {
      saveBlob(await session.api(path, { as: "blob" }), name);
    } catch (err) {
      flash(status, `download: ${errorText(err)}`, "error", 0);
    }
  }

  uploadButton.addEventListener("click", async () => {
    const chosen = file.files[0];
    if (!chosen) return flash(status, "Choose a CSV or XLSX file.", "error");
    const data = new FormData();
    data.append("file", chosen);
    uploadButton.disabled = true;
    try {
      upsert(await session.api(`${base}catalog-imports/`, { method: "POST", body: data }));
      file.value = "";
    } catch (err) {
      flash(status, `import: ${fullError(err)}`, "error", 0);
    } finally {
      uploadButton.disabled = false;
    }
  });
  for (const button of [exportCsv, exportXlsx]) {
    button.addEventListener("click", () => download(`${base}catalog-export/?file_format=${button.dataset.format}`,
      `catalogue-${vendor.slug}.${button.dataset.format}`));
  }

  const sub = rt.subscribe(`vendor:${vendor.id}`, {
    event: (ev) => {
      if (ev.type !== "catalog_import.progress") return;
      const d = ev.data;
      upsert({ id: d.import_id, vendor_id: vendor.id, ...d });
    },
    error: (err) => flash(status, `live progress: ${errorText(err)}`, "error", 0),
  });
  session.api(`${base}catalog-imports/`).then((all) => {
    if (!all.length && !jobs.size) fill(list, h("li", { class: "muted empty" }, "No imports yet."));
    [...all].reverse().forEach(upsert); // newest first on screen
  }).catch((err) => flash(status, `imports: ${errorText(err)}`, "error", 0));
  return { destroy() { sub.unsubscribe(); } };
}
