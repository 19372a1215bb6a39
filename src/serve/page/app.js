// The clinician's page: pick a model, upload an image and a mask, follow the
// job, show the result. Talks only to this server's /v1 API.
"use strict";

const $ = (id) => document.getElementById(id);
let apiKey = sessionStorage.getItem("radial-api-key") || "";
let lastResult = null;

function authHeaders() {
  return apiKey ? { Authorization: "Bearer " + apiKey } : {};
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { ...(options.headers || {}), ...authHeaders() },
  });
  if (response.status === 401) {
    $("key-section").hidden = false;
  }
  return response;
}

async function problemText(response) {
  try {
    const p = await response.json();
    return p.detail || p.title || response.statusText;
  } catch (_) {
    return response.status + " " + response.statusText;
  }
}

async function loadModels() {
  const response = await api("/v1/models");
  if (!response.ok) {
    $("form-error").textContent = await problemText(response);
    return;
  }
  $("key-section").hidden = true;
  $("form-error").textContent = "";
  const { models } = await response.json();
  const select = $("model");
  select.innerHTML = "";
  for (const m of models) {
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = m.name;
    option.dataset.info = (m.intended_use || "") + " (sha256 " + m.sha256.slice(0, 12) + "…)";
    select.appendChild(option);
  }
  showModelInfo();
}

function showModelInfo() {
  const option = $("model").selectedOptions[0];
  $("model-info").textContent = option ? option.dataset.info : "";
}

function setupDrop(zoneId, inputId) {
  const zone = $(zoneId);
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) $(inputId).files = e.dataTransfer.files;
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function follow(location) {
  $("progress").hidden = false;
  for (;;) {
    const response = await api(location);
    if (!response.ok) throw new Error(await problemText(response));
    const job = await response.json();
    $("status").textContent = job.status;
    $("queue").textContent = job.queue_position != null ? "(position " + (job.queue_position + 1) + " in the queue)" : "";
    $("bar").value = { queued: 10, running: 50, succeeded: 100, failed: 100, cancelled: 100 }[job.status] || 0;
    if (job.status === "succeeded") return job;
    if (job.status === "failed") throw new Error(job.error ? job.error.detail : "the job failed");
    if (job.status === "cancelled") throw new Error("the job was cancelled");
    await sleep(400);
  }
}

async function showResult(job) {
  const response = await api(job.links.result);
  if (!response.ok) throw new Error(await problemText(response));
  const text = await response.text();
  const result = JSON.parse(text);
  lastResult = text;
  const p = result.prediction;
  $("probability").textContent = String(p.probability);
  $("class").textContent = p.class;
  $("score").textContent = String(p.score);
  $("gauge-fill").style.height = Math.round(100 * Math.max(0, Math.min(1, p.probability))) + "%";
  $("res-model").textContent = result.model.name;
  $("res-sha").textContent = "sha256 " + result.model.sha256;
  const warnings = $("warnings");
  warnings.innerHTML = "";
  for (const w of result.qc.warnings) {
    const li = document.createElement("li");
    li.textContent = w;
    warnings.appendChild(li);
  }
  const qc = result.qc;
  $("qc").textContent = "grid " + qc.grid.join("×") + ", spacing " + qc.spacing.join("×") + " mm, ROI " +
    qc.roi_voxels + " voxels" + (qc.resampled ? ", resampled to " + qc.resampled_spacing.join("×") + " mm" : "");
  const body = $("features").querySelector("tbody");
  body.innerHTML = "";
  for (const [name, value] of Object.entries(result.features)) {
    const row = body.insertRow();
    row.insertCell().textContent = name;
    row.insertCell().textContent = value === null ? "NaN" : String(value);
  }
  const preview = await api(job.links.preview);
  if (preview.ok) $("preview").src = URL.createObjectURL(await preview.blob());
  $("result").hidden = false;
}

async function submit(event) {
  event.preventDefault();
  $("form-error").textContent = "";
  $("result").hidden = true;
  $("submit").disabled = true;
  try {
    const data = new FormData($("job-form"));
    for (const key of ["label", "roi", "case_id"]) {
      if (!data.get(key)) data.delete(key);
    }
    const response = await api("/v1/jobs", { method: "POST", body: data });
    if (response.status !== 202 && response.status !== 200) {
      throw new Error(await problemText(response));
    }
    const job = await follow(response.headers.get("Location"));
    await showResult(job);
  } catch (e) {
    $("form-error").textContent = e.message;
  } finally {
    $("submit").disabled = false;
  }
}

function download() {
  if (!lastResult) return;
  const url = URL.createObjectURL(new Blob([lastResult], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = "radial-result.json";
  a.click();
  URL.revokeObjectURL(url);
}

$("job-form").addEventListener("submit", submit);
$("model").addEventListener("change", showModelInfo);
$("download").addEventListener("click", download);
$("key-save").addEventListener("click", () => {
  apiKey = $("api-key").value.trim();
  sessionStorage.setItem("radial-api-key", apiKey);
  loadModels();
});
setupDrop("drop-image", "image");
setupDrop("drop-mask", "mask");
loadModels();
