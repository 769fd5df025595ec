// Keyword library pages: job results, group buttons in the expression editor, confirmations.
"use strict";

// A finished backtest or import job: load its result fragment in place of the progress bar.
document.addEventListener("job:done", (event) => {
  const element = event.target.closest("[data-result]");
  if (element && window.htmx) {
    htmx.ajax("GET", element.dataset.result, { target: element, swap: "outerHTML" });
  }
});

// @group buttons insert the reference at the cursor of the expression editor.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-insert]");
  if (!button) return;
  const editor = document.getElementById("rule-expression");
  if (!editor || editor.disabled) return;
  const start = editor.selectionStart ?? editor.value.length;
  const end = editor.selectionEnd ?? start;
  const before = editor.value.slice(0, start);
  const text = (before && !/\s$/.test(before) ? " " : "") + button.dataset.insert + " ";
  editor.setRangeText(text, start, end, "end");
  editor.focus();
  editor.dispatchEvent(new Event("input", { bubbles: true }));
});

// A submit button may ask for confirmation of its own (e.g. delete inside an edit form).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm-click]");
  if (button && !window.confirm(button.dataset.confirmClick)) event.preventDefault();
});
