// Discovery page: a term's daily frequency (ECharts), drawn from the JSON endpoint named
// in the clicked button's data-src. The first term is drawn on load.
"use strict";

async function drawTrend(button) {
  const response = await fetch(button.dataset.src, { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  const element = document.getElementById("term-chart");
  const title = document.getElementById("trend-title");
  title.textContent = `${button.dataset.term} · ${title.dataset.label}`;
  const chart = echarts.getInstanceByDom(element) || echarts.init(element);
  chart.setOption({
    tooltip: { trigger: "axis" },
    grid: { left: 40, right: 16, top: 16, bottom: 24 },
    xAxis: { type: "category", data: data.days.map((day) => day.slice(5)) },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: button.dataset.term, type: "bar", data: data.counts }],
  });
  element.dataset.term = data.term;
  window.addEventListener("resize", () => chart.resize());
}

document.addEventListener("DOMContentLoaded", () => {
  const buttons = document.querySelectorAll("button.show-trend");
  if (!window.echarts || !buttons.length) return;
  buttons.forEach((b) => b.addEventListener("click", () => drawTrend(b)));
  drawTrend(buttons[0]);
});
