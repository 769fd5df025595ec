// Dashboard: the volume and negative-share charts (ECharts), drawn from the JSON endpoint
// named in data-src.
"use strict";

async function drawVolume(element) {
  const response = await fetch(element.dataset.src, { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  const chart = echarts.init(element);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 40, right: 16, top: 40, bottom: 24 },
    xAxis: { type: "category", data: data.days.map((day) => day.slice(5)) },
    yAxis: element.dataset.percent
      ? { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }
      : { type: "value", minInterval: 1 },
    series: data.series.map((s) => ({ name: s.name, type: "line", smooth: true, data: s.data })),
  });
  window.addEventListener("resize", () => chart.resize());
}

document.addEventListener("DOMContentLoaded", () => {
  // The volume per rule, and the negative share per day (a percentage axis).
  for (const id of ["volume-chart", "negative-chart"]) {
    const element = document.getElementById(id);
    if (element && window.echarts) drawVolume(element);
  }
});
