// Alert pages: deadline countdowns and "select all" for bulk acknowledge.
"use strict";

// <time data-countdown datetime="ISO"> inside an element with data-left / data-over
// labels shows the time left to the deadline (or how long it is overdue), each second.
function formatSpan(ms) {
  const total = Math.floor(Math.abs(ms) / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
  const seconds = String(total % 60).padStart(2, "0");
  return `${hours}:${minutes}:${seconds}`;
}

function tickCountdowns() {
  document.querySelectorAll("time[data-countdown]").forEach((element) => {
    const labels = element.closest("[data-left]")?.dataset || {};
    const left = Date.parse(element.getAttribute("datetime")) - Date.now();
    element.textContent = `${left >= 0 ? labels.left || "" : labels.over || ""} ${formatSpan(left)}`;
    element.classList.toggle("overdue", left < 0);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  tickCountdowns();
  setInterval(tickCountdowns, 1000);
  const all = document.getElementById("select-all");
  all?.addEventListener("change", () => {
    document.querySelectorAll('#alerts-table input[name="ids"]').forEach((box) => {
      box.checked = all.checked;
    });
  });
});
