// Runs Mozilla's Readability.js over many pages in one process (bench/extract_real.py).
// Input: a JSON file [{id, url, html}]; output: one JSON line per page on stdout with the
// title, text, published time and the milliseconds the parse + extraction took.
"use strict";
const fs = require("fs");
const { JSDOM, VirtualConsole } = require("jsdom");
const { Readability } = require("@mozilla/readability");

const pages = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const quiet = new VirtualConsole(); // page scripts and CSS errors are not ours to print
for (const page of pages) {
  const start = process.hrtime.bigint();
  let out = { id: page.id, title: null, text: "", published: null };
  try {
    const dom = new JSDOM(page.html, { url: page.url, virtualConsole: quiet });
    const parsed = new Readability(dom.window.document).parse();
    if (parsed) {
      out.title = parsed.title || null;
      out.text = parsed.textContent || "";
      out.published = parsed.publishedTime || null;
    }
    dom.window.close();
  } catch (e) {
    out.error = String(e);
  }
  out.ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(JSON.stringify(out) + "\n");
}
