"use strict";
// DinoSharp explorer: plain JavaScript over the JSON API (no build step, works offline).
const $ = id => document.getElementById(id);
const state = { status: null, offset: 0, pageSize: 60, total: 0, patch: null };

async function api(url, init) {
  const response = await fetch(url, init);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response.json();
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function show(view) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.view === view);
  for (const s of document.querySelectorAll(".view")) s.classList.toggle("active", s.id === "view-" + view);
}

function tile(item, extra) {
  const div = document.createElement("div");
  div.className = "tile";
  div.dataset.index = item.index;
  div.title = item.path;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = item.name;
  img.src = `/api/thumb/${item.index}`;
  const name = document.createElement("div");
  name.className = "name";
  name.textContent = item.name;
  div.append(img, name);
  const meta = [extra, item.class].filter(x => x !== undefined && x !== null && x !== "").join(" · ");
  if (meta) {
    const m = document.createElement("div");
    m.className = "meta";
    m.textContent = meta;
    div.append(m);
  }
  div.addEventListener("click", e => e.shiftKey ? openPatches(item.index) : searchRow(item.index));
  return div;
}

// ---- status and progress -------------------------------------------------------------------------------------
async function pollStatus() {
  try {
    const s = await api("/api/status");
    state.status = s;
    $("status").textContent = `${s.message} · ${s.model}`;
    $("status").title = `store: ${s.store}\nmodel: ${s.model}`;
    const busy = s.phase === "loading" || s.phase === "embedding";
    $("progress").hidden = !busy;
    if (busy) {
      $("progress-bar").style.width = (s.total ? 100 * s.done / s.total : 0) + "%";
      $("progress-text").textContent = s.message;
      setTimeout(pollStatus, 500);
    } else if (s.phase === "failed") {
      showError("The index could not be built: " + s.message);
    } else {
      if (s.defaultSize) $("patch-size").value = s.defaultSize;
      if (s.patchSize) $("patch-size").step = s.patchSize;
      loadPage(0);
    }
  } catch (e) {
    $("status").textContent = "server unreachable: " + e.message;
    setTimeout(pollStatus, 2000);
  }
}

// ---- gallery --------------------------------------------------------------------------------------------------
async function loadPage(offset) {
  try {
    const page = await api(`/api/items?offset=${offset}&limit=${state.pageSize}`);
    state.offset = page.offset;
    state.total = page.total;
    const grid = $("gallery");
    grid.replaceChildren(...page.items.map(i => tile(i)));
    $("page-info").textContent = `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}`;
    $("prev").disabled = page.offset === 0;
    $("next").disabled = page.offset + page.items.length >= page.total;
  } catch (e) { showError(e.message); }
}

// ---- search ---------------------------------------------------------------------------------------------------
function renderSearch(result, queryImageUrl) {
  const q = $("query");
  q.replaceChildren();
  const img = document.createElement("img");
  img.src = queryImageUrl;
  img.alt = result.queryName;
  const caption = document.createElement("div");
  caption.textContent = `query: ${result.queryName}`;
  q.append(img, caption);
  $("hits").replaceChildren(...result.hits.map(h => {
    const t = tile(h.item, `#${h.rank} · ${h.score.toFixed(4)}`);
    t.classList.add("hit");
    t.dataset.score = h.score;
    t.dataset.rank = h.rank;
    return t;
  }));
  $("hits").dataset.query = result.query === null ? "upload" : result.query;
}

async function searchRow(index) {
  show("search");
  showError("");
  try {
    renderSearch(await api(`/api/search?index=${index}&k=${$("top").value}`), `/api/thumb/${index}`);
  } catch (e) { showError(e.message); }
}

async function searchUpload(file) {
  show("search");
  showError("");
  $("hits").dataset.query = "";
  try {
    const result = await api(`/api/search?k=${$("top").value}&name=${encodeURIComponent(file.name)}`,
      { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
    renderSearch(result, URL.createObjectURL(file));
  } catch (e) {
    $("hits").replaceChildren();
    $("query").replaceChildren();
    showError(`Upload of ${file.name} refused: ${e.message}`);
  }
}

// ---- near-duplicates -----------------------------------------------------------------------------------------------
async function findDuplicates() {
  showError("");
  $("duplicates-info").textContent = "searching…";
  try {
    const r = await api(`/api/duplicates?threshold=${$("threshold").value}`);
    $("duplicates-info").textContent = `${r.groups.length} group(s) from ${r.pairs} pair(s) at cosine ≥ ${r.threshold}`;
    $("duplicates").replaceChildren(...r.groups.map((g, i) => {
      const strip = document.createElement("div");
      strip.className = "strip duplicate-group";
      const h = document.createElement("h3");
      h.textContent = `group ${i + 1}: ${g.items.length} images, cosine ${g.minScore.toFixed(3)}–${g.maxScore.toFixed(3)}`;
      strip.append(h, ...g.items.map(it => tile(it)));
      return strip;
    }));
  } catch (e) { $("duplicates-info").textContent = ""; showError(e.message); }
}

// ---- clusters -------------------------------------------------------------------------------------------------
async function runClusters() {
  showError("");
  $("clusters-info").textContent = "clustering…";
  try {
    const r = await api(`/api/clusters?k=${$("k").value}&seed=${$("seed").value}`);
    const scores = r.purity === null ? "no labels: purity and NMI not computed"
      : `purity ${r.purity.toFixed(4)}, NMI ${r.nmi.toFixed(4)}`;
    $("clusters-info").textContent = `k = ${r.k}: ${scores}`;
    $("clusters").replaceChildren(...r.clusters.map(c => {
      const strip = document.createElement("div");
      strip.className = "strip cluster";
      strip.dataset.cluster = c.cluster;
      const h = document.createElement("h3");
      h.textContent = `cluster ${c.cluster} (${c.size})` + (c.majorityClass ? ` · ${c.majorityClass} ${(100 * c.majorityShare).toFixed(0)} %` : "");
      strip.append(h, ...c.nearest.map(n => tile(n.item, `cos ${n.score.toFixed(3)}`)));
      return strip;
    }));
  } catch (e) { $("clusters-info").textContent = ""; showError(e.message); }
}

// ---- patches --------------------------------------------------------------------------------------------------
function openPatches(a) {
  $("patch-a").value = a;
  show("patches");
  loadPatches();
}

async function loadPatches() {
  showError("");
  const s = state.status;
  $("patch-message").textContent = s && s.patchUnavailable ? s.patchUnavailable : "";
  if (s && s.patchUnavailable) return;
  const a = $("patch-a").value, b = $("patch-b").value, size = $("patch-size").value;
  state.patch = { a, b, size };
  $("patch-img-a").src = `/api/image/${a}?size=${size}`;
  $("patch-img-b").src = `/api/image/${b}?size=${size}`;
  await choosePatch(null, null);
  $("pca-a").src = `/api/pca?a=${a}&b=${b}&size=${size}&which=0`;
  $("pca-b").src = `/api/pca?a=${a}&b=${b}&size=${size}&which=1`;
  if (s && s.attentionUnavailable) {
    $("attention").removeAttribute("src");
    $("attention").hidden = true;
    $("attention-message").textContent = s.attentionUnavailable;
  } else {
    $("attention").hidden = false;
    $("attention-message").textContent = "";
    $("attention").src = `/api/attention?a=${a}&size=${size}`;
  }
}

// Colour of a similarity in [0, 1] after min-max scaling: every channel grows with it, so brighter = more similar.
function heat(t) {
  return [Math.round(255 * Math.sqrt(t)), Math.round(255 * t), Math.round(255 * t * t * t)];
}

function paint(canvas, map, h, w) {
  canvas.width = w;
  canvas.height = h;
  canvas.classList.add("pixelated");
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  let min = Infinity, max = -Infinity;
  for (const v of map) { min = Math.min(min, v); max = Math.max(max, v); }
  const range = max > min ? max - min : 1;
  map.forEach((v, i) => {
    const [r, g, b] = heat((v - min) / range);
    image.data.set([r, g, b, 255], 4 * i);
  });
  ctx.putImageData(image, 0, 0);
}

async function choosePatch(row, col) {
  const p = state.patch;
  if (!p) return;
  const where = row === null ? "" : `&row=${row}&col=${col}`;
  try {
    const r = await api(`/api/patches?a=${p.a}&b=${p.b}&size=${p.size}${where}`);
    state.patch.grid = [r.gridHeight, r.gridWidth];
    paint($("sim-a"), r.same, r.gridHeight, r.gridWidth);
    if (r.other) paint($("sim-b"), r.other, r.gridHeight, r.gridWidth);
    $("sim-a").dataset.row = r.row;
    $("sim-a").dataset.col = r.col;
    const pick = $("patch-pick");
    pick.width = 320;
    pick.height = 320;
    pick.style.width = "320px";
    pick.style.height = "320px";
    const ctx = pick.getContext("2d");
    ctx.clearRect(0, 0, 320, 320);
    ctx.strokeStyle = "#ff3b30";
    ctx.lineWidth = 2;
    const cw = 320 / r.gridWidth, ch = 320 / r.gridHeight;
    ctx.strokeRect(r.col * cw, r.row * ch, cw, ch);
  } catch (e) { showError(e.message); }
}

function patchAt(event) {
  const g = state.patch && state.patch.grid;
  if (!g) return null;
  const rect = $("patch-pick").getBoundingClientRect();
  const col = Math.min(g[1] - 1, Math.max(0, Math.floor((event.clientX - rect.left) / rect.width * g[1])));
  const row = Math.min(g[0] - 1, Math.max(0, Math.floor((event.clientY - rect.top) / rect.height * g[0])));
  return [row, col];
}

// ---- wiring ---------------------------------------------------------------------------------------------------
for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => {
  show(b.dataset.view);
  if (b.dataset.view === "patches" && !state.patch) loadPatches();
});
$("prev").addEventListener("click", () => loadPage(Math.max(0, state.offset - state.pageSize)));
$("next").addEventListener("click", () => loadPage(state.offset + state.pageSize));
$("upload").addEventListener("change", e => { if (e.target.files.length) searchUpload(e.target.files[0]); });
$("view-search").addEventListener("dragover", e => e.preventDefault());
$("view-search").addEventListener("drop", e => {
  e.preventDefault();
  if (e.dataTransfer.files.length) searchUpload(e.dataTransfer.files[0]);
});
$("find-duplicates").addEventListener("click", findDuplicates);
$("run-clusters").addEventListener("click", runClusters);
$("load-patches").addEventListener("click", loadPatches);
$("patch-pick").addEventListener("click", e => { const p = patchAt(e); if (p) choosePatch(p[0], p[1]); });
$("patch-pick").addEventListener("mousemove", e => { if (!e.shiftKey) return; const p = patchAt(e); if (p) choosePatch(p[0], p[1]); });
pollStatus();
