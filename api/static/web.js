// The web page (index.html): log in, check media, watch the job, read each result with its
// explanation drawn; the history of one's own results; the admin's users, models and rescans.
// A file, not inline: the Content-Security-Policy (api/security.py) allows scripts from 'self'
// only, images from 'self' only (no object URLs: pictures are fetched with the token, drawn
// on canvases) and no inline style (classes only; Chart.js sizes its canvas through the CSSOM).
"use strict";
const api = "/api/v1";
let token = sessionStorage.getItem("detector-token");
const $ = (id) => document.getElementById(id);
const HISTORY_PER_PAGE = 10;
let historyPage = 1;

// ------------------------------------------------------------------ small helpers
function el(tag, props, ...children) {  // textContent only: names and texts are user input
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

const say = (message) => { $("status").textContent = message; };
const authHeaders = () => ({ Authorization: "Bearer " + token });

async function getJSON(path) {
  const response = await fetch(path, { headers: authHeaders() });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (response.status === 401) logout("Your session has ended: log in again.");
  return { ok: response.ok, status: response.status, body };
}

async function bitmapFrom(path) {  // an image route behind the token, as an ImageBitmap
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return createImageBitmap(await response.blob());
}

function drawBitmap(canvas, bitmap) {
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
}

const pct = (x) => `${Math.round(100 * x)}%`;
const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : "");

// ------------------------------------------------------------------ verdicts in words
const VERDICT_WORDS = {
  synthetic: "Likely synthetic",
  authentic: "Likely authentic",
  uncertain: "Uncertain",
  not_applicable: "Not applicable",
};

function verdictLine(r) {
  const words = VERDICT_WORDS[r.verdict] || r.verdict;
  if (r.verdict === "not_applicable") return `${words}: no score, the detector was not built for this`;
  const e = r.explanation || {}, score = Number(r.score);
  let line = `${words}: score ${score.toFixed(3)}, a ${pct(score)} chance that it is synthetic`;
  if (r.verdict === "uncertain" && e.threshold != null) {
    line += ` (within ${Number(e.uncertain_band).toFixed(2)} of the model's threshold ` +
      `${Number(e.threshold).toFixed(2)}, too close to call)`;
  }
  return line;
}

function unitLevel(score, e) {  // how a unit is marked: by its score against the threshold
  const threshold = e.threshold == null ? 0.5 : Number(e.threshold);
  const band = e.uncertain_band == null ? 0 : Number(e.uncertain_band);
  if (score >= threshold) return "suspicious";
  if (score >= threshold - band) return "borderline";
  return "low";
}

// ------------------------------------------------------------------ one result, drawn
// `context`: what the browser still holds of the upload ({file} or {text}), else {}.
function renderResult(r, context) {
  const name = r.filename || (context.text != null ? "pasted text" : r.media_id);
  const card = el("article", { class: `result verdict-${r.verdict}`, "data-media-id": r.media_id,
                               "data-modality": r.modality });
  card.append(el("h3", { text: `${name} (${r.modality})` }));
  card.append(el("p", { class: "verdict", text: verdictLine(r) }));
  const model = el("p", { class: "model", text: `Model ${r.model.name} v${r.model.version}` });
  if (r.links && r.links.mlflow) {
    model.append(" · ", el("a", { href: r.links.mlflow, text: "in MLflow", rel: "noreferrer" }));
  }
  card.append(model);
  if (r.verdict === "not_applicable") {
    card.append(el("p", { class: "reason", text: "Why no score: " + r.reason }));
    return card;
  }
  const box = el("div", { class: "evidence" });
  card.append(box);
  const draw = { image: drawImage, video: drawVideo, audio: drawAudio, text: drawText }[r.modality];
  if (draw) {
    draw(box, r, context).catch((error) => {
      box.append(el("p", { class: "error", text: "The explanation could not be drawn: " + error.message }));
    });
  }
  return card;
}

async function drawImage(box, r) {
  const e = r.explanation || {};
  const faces = (e.faces || []).length;
  box.append(el("p", { class: "legend", text:
    "Heatmap: each examined patch tinted from blue (looks authentic) to red (looks synthetic); " +
    "grey areas were not examined" + (faces ? `; ${faces} face${faces > 1 ? "s" : ""} outlined in white.` : ".") }));
  if (!(r.links && r.links.heatmap)) {
    box.append(el("p", { text: "No heatmap: the image had no scored patch." }));
    return;
  }
  const canvas = el("canvas", { class: "heatmap" });
  box.append(canvas);
  drawBitmap(canvas, await bitmapFrom(r.links.heatmap));
  canvas.setAttribute("data-drawn", "heatmap");
}

async function drawVideo(box, r) {
  const e = r.explanation || {};
  const units = (e.units || []).filter((u) => u.time_s != null);
  if (!units.length) { box.append(el("p", { text: "No frame was scored." })); return; }
  const peak = units.reduce((a, b) => (b.score > a.score ? b : a));
  const wrap = el("div", { class: "chart" });
  const chartCanvas = el("canvas", { class: "timeline" });
  wrap.append(chartCanvas);
  box.append(el("p", { class: "legend", text: "Score of each sampled frame over time; the dashed line is the model's threshold." }), wrap);
  if (window.Chart) {
    const threshold = e.threshold == null ? 0.5 : Number(e.threshold);
    new window.Chart(chartCanvas, {
      type: "line",
      data: { datasets: [
        { label: "frame score", data: units.map((u) => ({ x: u.time_s, y: u.score })),
          borderColor: "#c0392b", backgroundColor: "#c0392b", pointRadius: 3 },
        { label: "threshold", data: [{ x: units[0].time_s, y: threshold },
          { x: units[units.length - 1].time_s, y: threshold }], borderDash: [6, 4],
          borderColor: "#555", pointRadius: 0 },
      ] },
      options: { animation: false, maintainAspectRatio: false, parsing: true,
        scales: { x: { type: "linear", title: { display: true, text: "seconds" } },
                  y: { min: 0, max: 1, title: { display: true, text: "score" } } } },
    });
    chartCanvas.setAttribute("data-drawn", "timeline");
  }
  const frame = el("canvas", { class: "frame" });
  box.append(el("p", { class: "caption", text:
    `The most suspicious frame, at ${Number(peak.time_s).toFixed(2)} s (score ${Number(peak.score).toFixed(3)}), the scored area outlined:` }), frame);
  drawBitmap(frame, await bitmapFrom(`${api}/results/${encodeURIComponent(r.media_id)}/frame`));
  frame.setAttribute("data-drawn", "peak-frame");
}

async function audioEnvelope(r, file) {  // [[min, max], ...] and the duration in seconds
  const columns = 800;
  if (file && window.AudioContext) {  // the browser still holds the upload: decode it here
    const context = new AudioContext();
    try {
      const audio = await context.decodeAudioData(await file.arrayBuffer());
      const data = audio.getChannelData(0), step = Math.max(1, Math.floor(data.length / columns));
      const peaks = [];
      for (let i = 0; i < data.length; i += step) {
        let low = 1, high = -1;
        for (let j = i; j < Math.min(i + step, data.length); j++) {
          if (data[j] < low) low = data[j];
          if (data[j] > high) high = data[j];
        }
        peaks.push([low, high]);
      }
      return { peaks, duration: audio.duration };
    } catch (_) { /* the browser cannot decode it: ask the server */ } finally { context.close(); }
  }
  const answer = await getJSON(`${api}/results/${encodeURIComponent(r.media_id)}/waveform`);
  if (!answer.ok) throw new Error("no waveform");
  return { peaks: answer.body.peaks, duration: answer.body.duration_s };
}

async function drawAudio(box, r, context) {
  const e = r.explanation || {};
  const segments = (e.units || []).filter((u) => u.start_s != null);
  const canvas = el("canvas", { class: "waveform", width: 800, height: 160 });
  box.append(el("p", { class: "legend", text:
    "Waveform; each scored segment is shaded, darker the more synthetic it looks; " +
    "red: at or above the model's threshold." }), canvas);
  const { peaks, duration } = await audioEnvelope(r, context.file);
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, mid = h / 2;
  let shaded = 0, suspicious = 0;
  for (const s of segments) {  // shading first, the waveform over it
    const x0 = (s.start_s / duration) * w, x1 = (s.end_s / duration) * w;
    const level = unitLevel(s.score, e);
    g.fillStyle = level === "suspicious" ? `rgba(220, 40, 40, ${0.25 + 0.5 * s.score})`
      : `rgba(240, 150, 30, ${0.1 + 0.4 * s.score})`;
    g.fillRect(x0, 0, Math.max(1, x1 - x0), h);
    g.fillStyle = "#7a4a10";
    g.fillRect(x0, 0, 1, h);  // where the segment starts
    if (x1 - x0 > 48) g.fillText(s.score.toFixed(2), x0 + 4, 12);
    shaded += 1;
    if (level === "suspicious") suspicious += 1;
  }
  g.strokeStyle = "#1f3b5a";
  g.beginPath();
  peaks.forEach(([low, high], i) => {
    const x = (i / peaks.length) * w;
    g.moveTo(x, mid - high * mid);
    g.lineTo(x, mid - low * mid + 1);
  });
  g.stroke();
  canvas.setAttribute("data-shaded", String(shaded));
  canvas.setAttribute("data-suspicious", String(suspicious));
  const list = el("ul", { class: "segments" });
  for (const s of segments.filter((u) => unitLevel(u.score, e) !== "low")) {
    list.append(el("li", { text: `${s.start_s.toFixed(2)}–${s.end_s.toFixed(2)} s: score ${s.score.toFixed(3)}` }));
  }
  if (list.childElementCount) box.append(el("p", { text: "Most suspicious segments:" }), list);
}

async function drawText(box, r, context) {
  const e = r.explanation || {};
  const units = (e.units || []).filter((u) => u.start != null);
  const source = context.text;  // the pasted text: its gaps between sentences kept
  const para = el("p", { class: "text-evidence" });
  let at = 0;
  for (const u of units) {
    if (source != null && u.start > at) para.append(source.slice(at, u.start));
    else if (source == null && at > 0) para.append(" ");
    const level = unitLevel(u.score, e);
    const heat = Math.min(4, Math.floor(u.score * 5));
    const mark = el("mark", { class: `sentence heat-${heat} ${level}`, title: `score ${u.score.toFixed(3)}`,
                              "data-score": String(u.score),
                              text: source != null ? source.slice(u.start, u.end) : u.text });
    para.append(mark);
    at = u.end;
  }
  if (source != null && at < source.length) para.append(source.slice(at));
  box.append(el("p", { class: "legend", text:
    "Each sentence is highlighted by its score, darker the more synthetic it reads; " +
    "underlined in red: at or above the model's threshold." }), para);
}

// ------------------------------------------------------------------ log in / out, views
function showLoggedIn(name, admin) {
  $("login").hidden = true;
  $("nav").hidden = false;
  $("nav-admin").hidden = !admin;
  $("who").textContent = "logged in as " + name;
}

function logout(message) {
  if (token && !message) {  // revoke the token where the server can (best effort)
    fetch(api + "/auth/logout", { method: "POST", headers: authHeaders() }).catch(() => {});
  }
  token = null;
  sessionStorage.removeItem("detector-token");
  $("login").hidden = false;
  $("nav").hidden = true;
  say(message || "Logged out.");
}

async function whoAmI() {
  const me = await getJSON(api + "/auth/me");
  if (me.ok) showLoggedIn(me.body.name, !!me.body.admin);
  return me.ok;
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const basic = btoa(unescape(encodeURIComponent(form.user.value + ":" + form.password.value)));
  const response = await fetch(api + "/auth/token",
    { method: "POST", headers: { Authorization: "Basic " + basic } });
  const body = await response.json();
  if (!response.ok) { say("Log in failed: " + body.error.message); return; }
  token = body.access_token;
  sessionStorage.setItem("detector-token", token);
  form.password.value = "";
  await whoAmI();
  say("Choose files or paste text.");
  route();
});

$("logout").addEventListener("click", () => logout());

function route() {
  const [view, arg] = (location.hash.slice(1) || "check").split("/");
  for (const section of document.querySelectorAll(".view")) section.hidden = true;
  if (!token) { $("view-check").hidden = false; return; }
  if (view === "history") { $("view-history").hidden = false; loadHistory(); }
  else if (view === "admin") { $("view-admin").hidden = false; loadAdmin(); }
  else if (view === "job" && arg) { $("view-job").hidden = false; loadJob(decodeURIComponent(arg)); }
  else $("view-check").hidden = false;
}
window.addEventListener("hashchange", route);

// ------------------------------------------------------------------ check: upload, progress
function showProgress(job) {
  const nodes = Object.values(job.nodes || {});
  const done = nodes.filter((n) => ["succeeded", "failed", "skipped"].includes(String(n.status).toLowerCase())).length;
  $("progress").hidden = false;
  $("progress-bar").value = nodes.length ? done / nodes.length : 0;
  $("progress-text").textContent = `Job ${job.status || "queued"}` +
    (nodes.length ? `: ${done} of ${nodes.length} steps done` : "");
}

async function poll(url) {
  for (;;) {
    const answer = await getJSON(url);
    if (!answer.ok) { say("The job could not be read: " + ((answer.body || {}).error || {}).message); return null; }
    showProgress(answer.body);
    if (answer.body.status === "succeeded" || answer.body.status === "failed") return answer.body;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function showResults(target, results, contexts) {
  target.replaceChildren();
  results.forEach((r, i) => target.append(renderResult(r, contexts[i] || {})));
}

$("detect").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!token) { say("Log in first."); return; }
  const form = event.target;
  const files = [...form.file.files], text = form.text.value;
  let body;
  const headers = authHeaders();
  if (files.length) {
    body = new FormData();
    for (const file of files) body.append("file", file);
  } else if (text.trim()) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify({ text });
  } else { say("Choose a file or paste text."); return; }
  $("summary").replaceChildren();
  say("Uploading…");
  const response = await fetch(api + "/detections?mode=async", { method: "POST", headers, body });
  const answer = await response.json();
  if (!response.ok) { say("Refused: " + answer.error.message); return; }
  say("Checking…");
  const job = answer.status_url ? await poll(answer.status_url) : answer;
  if (!job) return;
  say(job.status === "failed" ? "The job failed: " + job.error : "Done.");
  // the job's media are in upload order: match each result to the File or the text it came from
  const contexts = job.results.map((r) => {
    const at = (job.media_ids || []).indexOf(r.media_id);
    return files.length ? { file: files[at >= 0 ? at : 0] } : { text };
  });
  const link = el("p", {}, el("a", { href: `#job/${encodeURIComponent(job.job_id)}`, text: "This job" }));
  showResults($("summary"), job.results, contexts);
  $("summary").append(link);
});

// ------------------------------------------------------------------ a job
async function loadJob(jobId) {
  $("job-id").textContent = jobId;
  $("job-results").replaceChildren();
  const answer = await getJSON(`${api}/jobs/${encodeURIComponent(jobId)}`);
  if (!answer.ok) { $("job-meta").textContent = "No such job."; return; }
  const job = answer.body;
  $("job-meta").replaceChildren(`${job.status}, ${job.engine} engine, started ${fmtTime(job.created_at)}`);
  if (job.links && job.links.argo_ui) {
    $("job-meta").append(" · ", el("a", { href: job.links.argo_ui, text: "in the Argo UI", rel: "noreferrer" }));
  }
  showResults($("job-results"), job.results, []);
}

// ------------------------------------------------------------------ history
async function loadHistory() {
  const form = $("history-filters");
  const query = new URLSearchParams({ page: historyPage, per_page: HISTORY_PER_PAGE });
  for (const name of ["modality", "verdict", "since", "until"]) {
    if (form[name].value) query.set(name, form[name].value);
  }
  const answer = await getJSON(`${api}/history?${query}`);
  const rows = $("history-table").tBodies[0];
  rows.replaceChildren();
  if (!answer.ok) { say("History: " + ((answer.body || {}).error || {}).message); return; }
  const { items, total, page, per_page: perPage } = answer.body;
  for (const r of items) {
    const model = el("td", { text: `${r.model.name} v${r.model.version}` });
    if (r.links.mlflow) model.append(" ", el("a", { href: r.links.mlflow, text: "MLflow", rel: "noreferrer" }));
    rows.append(el("tr", { "data-media-id": r.media_id },
      el("td", { text: fmtTime(r.created_at) }),
      el("td", { text: r.filename || "pasted text" }),
      el("td", { text: r.modality }),
      el("td", { text: VERDICT_WORDS[r.verdict] || r.verdict }),
      el("td", { text: r.score == null ? "–" : Number(r.score).toFixed(3) }),
      model,
      el("td", {}, el("a", { href: `#job/${encodeURIComponent(r.job_id)}`, text: "job" }),
        r.links.argo_ui ? " " : null,
        r.links.argo_ui ? el("a", { href: r.links.argo_ui, text: "Argo", rel: "noreferrer" }) : null)));
  }
  const pages = Math.max(1, Math.ceil(total / perPage));
  $("history-page").textContent = `page ${page} of ${pages} (${total} result${total === 1 ? "" : "s"})`;
  $("history-prev").disabled = page <= 1;
  $("history-next").disabled = page >= pages;
}

$("history-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  historyPage = 1;
  loadHistory();
});
$("history-prev").addEventListener("click", () => { historyPage = Math.max(1, historyPage - 1); loadHistory(); });
$("history-next").addEventListener("click", () => { historyPage += 1; loadHistory(); });

// ------------------------------------------------------------------ admin
function listOf(body, ...keys) {  // routes differ in how they wrap a list
  if (Array.isArray(body)) return body;
  for (const key of keys) if (body && Array.isArray(body[key])) return body[key];
  return [];
}

function table(headers, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { text: h })))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) =>
      (c instanceof Node ? el("td", {}, c) : el("td", { text: c == null ? "" : String(c) })))))));
}

async function adminSection(target, path, render) {
  const answer = await getJSON(path);
  target.replaceChildren();
  if (answer.status === 404 || answer.status === 405 || answer.status === 501) {
    target.append(el("p", { class: "unavailable", text: "not available on this server" }));
  } else if (!answer.ok) {
    target.append(el("p", { class: "error", text: ((answer.body || {}).error || {}).message || `error ${answer.status}` }));
  } else target.append(render(answer.body));
}

function counted(body, noun, node) {  // "3 users" above a paged table (first page shown)
  const shown = listOf(body, "items").length, total = body && body.total != null ? body.total : shown;
  const text = total > shown ? `${total} ${noun}, the first ${shown} shown` : `${total} ${noun}`;
  return el("div", {}, el("p", { class: "legend", text }), node);
}

function rescanFilters(f) {
  const parts = [];
  if (f.modality) parts.push(f.modality);
  if (f.since) parts.push("since " + fmtTime(f.since));
  if (f.media_ids) parts.push(`${f.media_ids.length} media`);
  return parts.join(", ") || "all media";
}

function loadAdmin() {
  adminSection($("admin-users"), `${api}/auth/users?per_page=100`, (body) => counted(body, "users",
    table(["name", "admin", "disabled", "created"],
      listOf(body, "items", "users").map((u) => [u.name, u.admin ? "yes" : "no",
        u.disabled ? "yes" : "no", fmtTime(u.created_at)]))));
  adminSection($("admin-models"), `${api}/models`, (body) => table(
    ["model", "version", "aliases", "registered"],
    listOf(body, "models").flatMap((m) => m.versions.map((v) => [
      m.name,
      v.link ? el("a", { href: v.link, text: `v${v.version}`, rel: "noreferrer" }) : `v${v.version}`,
      (v.version === m.champion ? "★ " : "") + v.aliases.join(", "),
      v.created_at ? new Date(v.created_at).toLocaleString() : ""]))));
  adminSection($("admin-rescans"), `${api}/rescans?per_page=20`, (body) => counted(body, "rescans",
    table(["rescan", "status", "media", "rescored", "changed", "failed", "started"],
      listOf(body, "items", "rescans").map((s) => {
        const n = s.summary || {};
        const id = (s.links || {}).argo_ui
          ? el("a", { href: s.links.argo_ui, text: s.rescan_id, rel: "noreferrer" }) : s.rescan_id;
        return [id, s.status + (s.error ? `: ${s.error}` : ""), rescanFilters(s.filters || {}),
          `${n.rescored ?? 0} of ${n.selected ?? 0}`, n.changed ?? 0, n.failed ?? 0,
          fmtTime(s.created_at)];
      }))));
}

// ------------------------------------------------------------------ start
(async () => {
  if (token && !(await whoAmI())) logout("Log in.");
  if (!token) say("Log in, then choose a file or paste text.");
  route();
})();
