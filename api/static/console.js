// Console behaviour without inline scripts (the CSP forbids them).
"use strict";

// htmx and fetch() send the session's CSRF token with every unsafe request.
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";
document.addEventListener("htmx:configRequest", (event) => {
  event.detail.headers["X-CSRF-Token"] = csrfToken;
});

// Buttons and forms may ask for confirmation: data-confirm="确定关闭？"
document.addEventListener("submit", (event) => {
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Background jobs (imports, backtests, exports): <div data-job="ID"> with a <progress>,
// a [data-job-status] text and an <a data-job-download hidden> filled in when done.
// When a job finishes, the element fires "job:done" with the job as detail.
function pollJob(element) {
  const id = element.dataset.job;
  const bar = element.querySelector("progress");
  const status = element.querySelector("[data-job-status]");
  const tick = async () => {
    const response = await fetch(`/api/jobs/${encodeURIComponent(id)}`, { credentials: "same-origin" });
    const job = await response.json();
    if (!response.ok) {
      if (status) status.textContent = job.detail || response.statusText;
      return;
    }
    if (bar) {
      if (job.percent === null) bar.removeAttribute("value");
      else bar.value = job.percent, bar.max = 100;
    }
    if (status) status.textContent = job.total ? `${job.done} / ${job.total}` : `${job.done}`;
    if (job.state === "running") {
      setTimeout(tick, 500);
      return;
    }
    if (status) status.textContent = job.state === "failed" ? job.error : "✓";
    const link = element.querySelector("[data-job-download]");
    if (link && job.download) {
      link.href = `/api/jobs/${encodeURIComponent(id)}/result`;
      link.hidden = false;
    }
    element.dispatchEvent(new CustomEvent("job:done", { detail: job, bubbles: true }));
  };
  tick();
}
const startJobs = (root) => {
  if (root.matches?.("[data-job]")) pollJob(root);
  root.querySelectorAll("[data-job]").forEach(pollJob);
};
document.addEventListener("DOMContentLoaded", () => startJobs(document));
document.addEventListener("htmx:load", (event) => startJobs(event.detail.elt));
