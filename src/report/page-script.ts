/**
 * The report page's own script: it reads the chart data embedded as JSON and draws the charts with
 * the inlined Chart.js, in the colours of the page's light or dark theme. Plain ES2017 in a string,
 * since it runs in the browser and is inlined into the page as is.
 *
 * It sets `data-charts` on <html> to the number of charts drawn once done (tests wait for it), and
 * reports a chart that failed with console.error and a message in place of the chart.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lethe-report-data").textContent);
  var css = getComputedStyle(document.documentElement);
  var cssVar = function (name) { return css.getPropertyValue(name).trim(); };
  Chart.defaults.color = cssVar("--muted");
  Chart.defaults.borderColor = cssVar("--grid");
  Chart.defaults.font.family = css.fontFamily;
  Chart.defaults.font.size = 13;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.usePointStyle = true;

  // Tick labels get as many decimals as the tick step needs, so a narrow axis never repeats a label.
  var pct = function (v, i, ticks) {
    var step = ticks && ticks.length > 1 ? Math.abs(ticks[1].value - ticks[0].value) * 100 : 10;
    var decimals = Math.min(3, Math.max(0, Math.ceil(-Math.log10(step) + 1e-9)));
    return (v * 100).toFixed(decimals) + "%";
  };
  var num = function (v) { return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3); };
  var fmt = function (v, format) { return v === null || v === undefined ? "n/a" : format === "percent" ? (v * 100).toFixed(1) + "%" : num(v); };
  var styleOf = function (role) { return role === "base" ? "rectRot" : role === "gold" ? "triangle" : role === "unlearned" ? "circle" : "rect"; };
  var drawn = 0;

  function make(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    try {
      new Chart(canvas, config);
      drawn++;
    } catch (err) {
      console.error("lethe report: chart " + id + " could not be drawn: " + err);
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = "This chart could not be drawn: " + err;
      canvas.parentNode.replaceWith(p);
    }
  }

  var fam = data.familiarity;
  if (fam) {
    make("chart-familiarity", {
      type: "bar",
      data: {
        labels: fam.categories,
        datasets: fam.datasets.map(function (d) {
          return { label: d.label, data: d.values, backgroundColor: d.colour, borderColor: d.colour, borderWidth: 1, pointStyle: styleOf(d.role) };
        }),
      },
      options: {
        scales: { y: { min: 0, suggestedMax: 1, ticks: { callback: pct }, title: { display: true, text: "lower = less familiar" } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + fmt(c.raw, "percent"); } } } },
      },
    });
  }

  // Writes α beside each point of a sweep, so a screenshot shows which strength is which.
  var alphaLabels = {
    id: "alphaLabels",
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      ctx.save();
      ctx.font = "12px " + css.fontFamily;
      ctx.fillStyle = cssVar("--muted");
      chart.data.datasets.forEach(function (ds, i) {
        if (!chart.isDatasetVisible(i)) return;
        chart.getDatasetMeta(i).data.forEach(function (el, j) {
          var a = ds.data[j].alpha;
          if (a !== undefined && a !== null) ctx.fillText("α = " + a, el.x + 11, el.y - 9);
        });
      });
      ctx.restore();
    },
  };
  // A dashed line where y leaves the tolerated range around the base model, drawn under the points.
  var limitLine = function (limit) {
    return {
      id: "limitLine",
      beforeDatasetsDraw: function (chart) {
        var area = chart.chartArea, y = chart.scales.y.getPixelForValue(limit.value), ctx = chart.ctx;
        if (y < area.top || y > area.bottom) return;
        ctx.save();
        ctx.strokeStyle = ctx.fillStyle = cssVar("--warn");
        ctx.lineWidth = 1.5;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(area.left, y);
        ctx.lineTo(area.right, y);
        ctx.stroke();
        ctx.font = "12px " + css.fontFamily;
        ctx.fillText(limit.label, area.left + 4, y - 5);
        ctx.restore();
      },
    };
  };
  var ratio = function (v) { return "×" + v.toFixed(2); };
  var tick = function (format) {
    return function (v, i, ticks) { return format === "percent" ? pct(v, i, ticks) : format === "ratio" ? "×" + (+v.toPrecision(3)) : num(v); };
  };

  function tradeoffChart(id, tr) {
    var ys = [];
    tr.series.forEach(function (s) { s.points.forEach(function (p) { ys.push(p.y); }); });
    // The limit line stays in view even when every point is far below it.
    if (tr.yLimit) ys.push(tr.yLimit.value);
    var lo = Math.min.apply(null, ys), hi = Math.max.apply(null, ys);
    // Grace pads by a share of the range, which on a log axis can reach zero; pad by a factor instead.
    var y = tr.yLog ? { type: "logarithmic", suggestedMin: lo / 1.1, suggestedMax: hi * 1.1 } : { suggestedMin: lo, suggestedMax: hi, grace: "10%" };
    y.title = { display: true, text: tr.yLabel };
    y.ticks = { callback: tick(tr.yFormat) };
    var yText = function (p) {
      if (tr.yFormat === "percent") return fmt(p.y, "percent") + " " + tr.yName;
      return tr.yName + " " + num(p.value === undefined ? p.y : p.value) + (tr.yFormat === "ratio" ? " (" + ratio(p.y) + " base)" : "");
    };
    make(id, {
      type: "scatter",
      plugins: tr.yLimit ? [alphaLabels, limitLine(tr.yLimit)] : [alphaLabels],
      data: {
        datasets: tr.series.map(function (s) {
          return {
            label: s.label, data: s.points, showLine: s.line, borderColor: s.colour, backgroundColor: s.colour,
            pointStyle: styleOf(s.role), pointRadius: 8, pointHoverRadius: 10, borderWidth: 2,
          };
        }),
      },
      options: {
        scales: { x: { title: { display: true, text: tr.xLabel }, ticks: { callback: tick(tr.xFormat) }, grace: "10%" }, y: y },
        plugins: {
          title: { display: true, text: tr.title, color: cssVar("--ink") },
          tooltip: { callbacks: { label: function (c) {
            return c.raw.label + ": " + fmt(c.raw.x, tr.xFormat) + " familiar, " + yText(c.raw);
          } } },
        },
      },
    });
  }
  if (data.tradeoff) tradeoffChart("chart-tradeoff", data.tradeoff);
  if (data.perplexityTradeoff) tradeoffChart("chart-tradeoff-perplexity", data.perplexityTradeoff);

  (data.losses || []).forEach(function (curve, i) {
    var datasets = [{
      label: "training loss", data: curve.steps.map(function (s, j) { return { x: s, y: curve.losses[j] }; }),
      borderColor: curve.colour, backgroundColor: curve.colour, pointRadius: curve.losses.length > 60 ? 0 : 2, borderWidth: 2, tension: 0.2,
    }];
    if (curve.evals.length > 0) {
      datasets.push({
        label: "held-out loss", data: curve.evals.map(function (e) { return { x: e.step, y: e.loss }; }),
        borderColor: cssVar("--ink"), backgroundColor: cssVar("--ink"), borderDash: [6, 4], pointRadius: 3, borderWidth: 1.5,
      });
    }
    make("chart-loss-" + i, {
      type: "line",
      data: { datasets: datasets },
      options: {
        parsing: false,
        scales: { x: { type: "linear", title: { display: true, text: "step" } }, y: { title: { display: true, text: "loss" } } },
        plugins: { title: { display: true, text: curve.name, color: cssVar("--ink") } },
      },
    });
  });

  document.documentElement.setAttribute("data-charts", String(drawn));
})();
`;
