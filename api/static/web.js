// The upload page (index.html): log in, upload or paste, poll the job, show the verdicts.
// A file, not inline: the Content-Security-Policy (api/security.py) allows scripts from 'self' only.
"use strict";
const api = "/api/v1";
let token = sessionStorage.getItem("detector-token");
const out = document.getElementById("out");
const show = (value) => { out.textContent = JSON.stringify(value, null, 2); };
const summary = (body) => {
  const box = document.getElementById("summary");
  box.replaceChildren();
  for (const r of (body && body.results) || []) {  // textContent: file names are user input
    const line = document.createElement("p");
    line.className = "verdict";
    const name = r.filename || r.media_id, model = `${r.model.name} v${r.model.version}`;
    line.textContent = r.verdict === "not_applicable"  // no score: the reason instead
      ? `${name}: not applicable: ${r.reason} (${model})`
      : `${name}: ${r.verdict} (score ${Number(r.score).toFixed(3)}, ${model})`;
    box.appendChild(line);
  }
};

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const basic = btoa(unescape(encodeURIComponent(form.user.value + ":" + form.password.value)));
  const response = await fetch(api + "/auth/token",
    { method: "POST", headers: { Authorization: "Basic " + basic } });
  const body = await response.json();
  if (response.ok) {
    token = body.access_token;
    sessionStorage.setItem("detector-token", token);
    document.getElementById("who").textContent = "logged in as " + form.user.value;
  }
  show(body);
});

async function poll(url) {
  for (;;) {
    const response = await fetch(url, { headers: { Authorization: "Bearer " + token } });
    const body = await response.json();
    show(body);
    if (!response.ok || body.status === "succeeded" || body.status === "failed") {
      summary(body);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

document.getElementById("detect").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!token) { show({ error: { message: "log in first" } }); return; }
  const form = event.target;
  const headers = { Authorization: "Bearer " + token };
  let body;
  if (form.file.files.length) {
    body = new FormData();
    for (const file of form.file.files) body.append("file", file);
  } else {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify({ text: form.text.value });
  }
  document.getElementById("summary").textContent = "";
  show({ status: "uploading" });
  const response = await fetch(api + "/detections", { method: "POST", headers, body });
  const answer = await response.json();
  show(answer);
  if (response.status === 202 && answer.status_url) await poll(answer.status_url);
  else summary(answer);
});
