// phosnet serve: the page. Vanilla JS, no external code. Every user-supplied string (protein ids, headers,
// error messages) goes into the page as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_SHOWN = 2000;
const COLUMNS = [
  ["protein_id", "protein"], ["accession", "accession"], ["gene", "gene"], ["position", "position"],
  ["residue", "residue"], ["window", "window"], ["score", "score"], ["percentile", "percentile"],
  ["precision", "precision"], ["predicted", "call"],
];
const VARIANT_COLUMNS = [
  "protein_id", "variant", "site", "offset", "ref_score", "alt_score", "delta", "ref_percentile",
  "alt_percentile", "ref_precision", "alt_precision", "ref_predicted", "alt_predicted", "effect",
];

const state = { job: null, rows: [], proteins: [], byId: new Map(), sortKey: null, sortDir: -1, timer: null };

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(url, options) {
  const response = await fetch(url, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function number(value, digits) {
  if (value === null || value === undefined) return "";
  return typeof value === "number" ? value.toPrecision(digits) : String(value);
}

// ---------------------------------------------------------------------------------------------------------
// models, options
// ---------------------------------------------------------------------------------------------------------
async function loadModels() {
  const info = await (await api("/api/models")).json();
  $("version").textContent = `phosnet ${info.phosnet_version}`;
  $("footer-version").textContent = info.phosnet_version;
  const select = $("model");
  select.replaceChildren();
  for (const model of info.models) {
    const option = el("option", model.name + (model.default ? " (default)" : ""));
    option.value = model.name;
    option.title = model.description;
    option.selected = model.default;
    select.append(option);
  }
}

function ruleChanged() {
  const rule = $("rule").value;
  for (const name of ["stringency", "specificity", "threshold"]) $(name).hidden = name !== rule;
}

function scanForm() {
  const form = new FormData();
  const file = $("file").files[0];
  if (file) form.append("file", file, file.name);
  else form.append("fasta", $("fasta").value);
  form.append("model", $("model").value);
  const rule = $("rule").value;
  form.append(rule, $(rule).value);
  return form;
}

// ---------------------------------------------------------------------------------------------------------
// a scan job: start, progress, cancel
// ---------------------------------------------------------------------------------------------------------
async function startScan(event) {
  event.preventDefault();
  showError("");
  stopPolling();
  $("results").hidden = true;
  $("submit").disabled = true;
  try {
    const job = await (await api("/api/jobs", { method: "POST", body: scanForm() })).json();
    state.job = job.id;
    $("status").hidden = false;
    $("progress").value = 0;
    $("progress-text").textContent = "queued";
    poll();
  } catch (error) {
    showError(error.message);
    $("submit").disabled = false;
  }
}

function stopPolling() {
  if (state.timer !== null) clearTimeout(state.timer);
  state.timer = null;
}

async function poll() {
  state.timer = null;
  const id = state.job;
  try {
    const job = await (await api(`/api/jobs/${encodeURIComponent(id)}`)).json();
    if (id !== state.job) return;
    $("progress").value = job.progress;
    $("progress-text").textContent = `${job.state} ${Math.round(job.progress * 100)}%` +
      (job.seconds !== undefined ? ` (${job.seconds.toFixed(1)} s)` : "");
    if (job.state === "queued" || job.state === "running") {
      state.timer = setTimeout(poll, 250);
      return;
    }
    $("status").hidden = true;
    $("submit").disabled = false;
    if (job.state === "done") await showResults(job);
    else showError(job.error || job.state);
  } catch (error) {
    $("status").hidden = true;
    $("submit").disabled = false;
    showError(error.message);
  }
}

async function cancelScan() {
  const id = state.job;
  stopPolling();
  state.job = null;
  $("status").hidden = true;
  $("submit").disabled = false;
  if (id) {
    try { await api(`/api/jobs/${encodeURIComponent(id)}`, { method: "DELETE" }); } catch (e) { /* gone already */ }
  }
  showError("cancelled");
}

// ---------------------------------------------------------------------------------------------------------
// results: summary, table, map, explanation
// ---------------------------------------------------------------------------------------------------------
function jobUrl(path) {
  return `/api/jobs/${encodeURIComponent(state.job)}${path}`;
}

async function showResults(job) {
  const data = await (await api(jobUrl("/sites"))).json();
  const index = Object.fromEntries(data.columns.map((c, i) => [c, i]));
  state.rows = data.rows.map((row) => Object.fromEntries(Object.entries(index).map(([c, i]) => [c, row[i]])));
  state.proteins = data.proteins;
  state.byId = new Map(data.proteins.map((p) => [p.protein_id, p.number]));
  const c = data.counts;
  let text = `${c.proteins.toLocaleString()} proteins, ${c.sites.toLocaleString()} sites, ` +
    `${c.predicted.toLocaleString()} called at ${data.rule} (score >= ${number(data.threshold, 4)}); ` +
    `model ${data.model}, phosnet ${data.phosnet_version}.`;
  if (!data.table_complete) text += ` The table holds the ${data.table_rows.toLocaleString()} called sites; the downloads have every site.`;
  $("summary").textContent = text;
  $("download-tsv").href = jobUrl("/download/tsv");
  $("download-gff3").href = jobUrl("/download/gff3");
  const select = $("protein");
  select.replaceChildren();
  for (const protein of data.proteins) {
    const option = el("option", `${protein.gene || protein.accession || protein.protein_id} ` +
      `(${protein.length} aa, ${protein.calls} called of ${protein.sites})`);
    option.value = String(protein.number);
    select.append(option);
  }
  $("results").hidden = false;
  $("site-view").hidden = true;
  $("variants-table").querySelector("thead").replaceChildren();
  $("variants-table").querySelector("tbody").replaceChildren();
  $("variants-download").hidden = true;
  renderHeader();
  renderTable();
  showMap(data.proteins.length ? data.proteins[0].number : null);
}

function renderHeader() {
  const row = el("tr");
  for (const [key, label] of COLUMNS) {
    const th = el("th", label + (state.sortKey === key ? (state.sortDir > 0 ? " \u25B2" : " \u25BC") : ""));
    th.dataset.key = key;
    th.title = "sort";
    th.addEventListener("click", () => {
      state.sortDir = state.sortKey === key ? -state.sortDir : (key === "score" || key === "percentile" || key === "precision" ? -1 : 1);
      state.sortKey = key;
      renderHeader();
      renderTable();
    });
    row.append(th);
  }
  $("sites").querySelector("thead").replaceChildren(row);
}

function filtered() {
  const needle = $("filter").value.trim().toUpperCase();
  const calledOnly = $("called-only").checked;
  const minPercentile = parseFloat($("min-percentile").value) || 0;
  let rows = state.rows.filter((r) =>
    (!calledOnly || r.predicted) &&
    (minPercentile <= 0 || (r.percentile !== null && r.percentile >= minPercentile)) &&
    (!needle || [r.protein_id, r.accession, r.gene, r.window].some((v) => String(v).toUpperCase().includes(needle))));
  if (state.sortKey) {
    const key = state.sortKey, dir = state.sortDir;
    rows = rows.slice().sort((a, b) => {
      const x = a[key], y = b[key];
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }
  return rows;
}

function renderTable() {
  const rows = filtered();
  const body = [];
  for (const r of rows.slice(0, MAX_SHOWN)) {
    const tr = el("tr", null, r.predicted ? "called" : "");
    tr.dataset.protein = r.protein_id;
    tr.dataset.position = String(r.position);
    for (const [key] of COLUMNS) {
      let text = r[key];
      let title = "";
      if (key === "score") text = number(r.score, 4);
      else if (key === "percentile") text = r.percentile === null ? "" : r.percentile.toFixed(2);
      else if (key === "precision" && r.precision !== null) {
        text = r.precision.toFixed(3);
        title = `95% interval ${r.precision_low.toFixed(3)}-${r.precision_high.toFixed(3)}`;
      } else if (key === "predicted") text = r.predicted ? "called" : "";
      const td = el("td", text, key === "window" ? "window" : (key === "protein_id" ? "id" : ""));
      if (title) td.title = title;
      tr.append(td);
    }
    tr.addEventListener("click", () => showSite(r));
    body.push(tr);
  }
  $("sites").querySelector("tbody").replaceChildren(...body);
  $("shown").textContent = rows.length > MAX_SHOWN
    ? `showing ${MAX_SHOWN.toLocaleString()} of ${rows.length.toLocaleString()} rows (filter or sort to see others)`
    : `${rows.length.toLocaleString()} rows`;
}

function loadImage(img, status, url, what) {
  status.textContent = `drawing the ${what}...`;
  img.hidden = true;
  img.onload = () => { status.textContent = ""; img.hidden = false; };
  img.onerror = async () => {
    try { await api(url); status.textContent = `the ${what} could not be shown`; } catch (error) { status.textContent = error.message; }
  };
  img.src = url;
}

function showMap(number) {
  if (number === null || number === undefined) return;
  $("protein").value = String(number);
  loadImage($("map"), $("map-status"), jobUrl(`/map/${number}`), "site map");
}

function showSite(row) {
  const number = state.byId.get(row.protein_id);
  for (const tr of $("sites").querySelectorAll("tr.selected")) tr.classList.remove("selected");
  for (const tr of $("sites").querySelectorAll("tbody tr")) {
    if (tr.dataset.protein === row.protein_id && tr.dataset.position === String(row.position)) tr.classList.add("selected");
  }
  $("site-view").hidden = false;
  $("site-name").textContent = `${row.gene || row.accession || row.protein_id} ${row.residue}${row.position}`;
  $("explain-tsv").href = jobUrl(`/explain/${number}/${row.position}?format=tsv`);
  loadImage($("explain"), $("explain-status"), jobUrl(`/explain/${number}/${row.position}`), "explanation");
  if ($("protein").value !== String(number)) showMap(number);
}

// ---------------------------------------------------------------------------------------------------------
// variants
// ---------------------------------------------------------------------------------------------------------
async function scoreVariants() {
  showError("");
  const form = new FormData();
  form.append("variants", $("variants").value);
  try {
    const data = await (await api(jobUrl("/variants"), { method: "POST", body: form })).json();
    const index = Object.fromEntries(data.columns.map((c, i) => [c, i]));
    const head = el("tr");
    for (const key of VARIANT_COLUMNS) head.append(el("th", key));
    const body = data.rows.map((row) => {
      const tr = el("tr", null, row[index.effect] === "none" ? "" : "effect");
      for (const key of VARIANT_COLUMNS) {
        const value = row[index[key]];
        const text = typeof value === "number" && !Number.isInteger(value) ? number(value, 4)
          : (typeof value === "boolean" ? (value ? "called" : "") : value);
        tr.append(el("td", text));
      }
      return tr;
    });
    if (!body.length) {
      const tr = el("tr");
      const td = el("td", "no S/T site lies within the window of these variants");
      td.colSpan = VARIANT_COLUMNS.length;
      tr.append(td);
      body.push(tr);
    }
    $("variants-table").querySelector("thead").replaceChildren(head);
    $("variants-table").querySelector("tbody").replaceChildren(...body);
    form.append("format", "tsv");
    const tsv = await (await api(jobUrl("/variants"), { method: "POST", body: form })).blob();
    const link = $("variants-download");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(tsv);
    link.hidden = false;
  } catch (error) {
    showError(error.message);
  }
}

// ---------------------------------------------------------------------------------------------------------
async function loadExample() {
  showError("");
  try {
    $("fasta").value = await (await api("/api/example")).text();
    $("file").value = "";
  } catch (error) {
    showError(error.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("scan-form").addEventListener("submit", startScan);
  $("rule").addEventListener("change", ruleChanged);
  $("cancel").addEventListener("click", cancelScan);
  $("example").addEventListener("click", loadExample);
  $("protein").addEventListener("change", () => showMap(parseInt($("protein").value, 10)));
  $("variants-submit").addEventListener("click", scoreVariants);
  for (const id of ["filter", "called-only", "min-percentile"]) $(id).addEventListener("input", renderTable);
  ruleChanged();
  loadModels().catch((error) => showError(error.message));
});
