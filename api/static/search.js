// Search page: the syntax examples fill the query box; "/" jumps to it.
"use strict";

document.addEventListener("click", (event) => {
  const example = event.target.closest?.("[data-example]");
  const box = document.getElementById("q");
  if (!example || !box) return;
  box.value = example.dataset.example;
  box.focus();
});

document.addEventListener("keydown", (event) => {
  const box = document.getElementById("q");
  if (event.key !== "/" || !box || event.target.closest?.("input, textarea, select")) return;
  event.preventDefault();
  box.focus();
  box.select();
});
