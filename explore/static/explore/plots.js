// Line plots in plain SVG (linear or log axes), small enough to read in one sitting.
// Every series is a <path class="series"> carrying the values it was given in data-x / data-y
// (JSON), so what is plotted can be read back exactly, by a person or a test.
"use strict";

window.IceboxPlots = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 360, H = 240, M = { left: 48, right: 10, top: 18, bottom: 34 };
  const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  // The values a log axis can show: zeros (a poE of 0 beyond the last level) are left out.
  function usable(values, log) {
    return values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  }

  function scale(lo, hi, log, from, to) {
    if (log) { lo = Math.log10(lo); hi = Math.log10(hi); }
    if (hi === lo) { lo -= 0.5; hi += 0.5; }
    return (v) => from + ((log ? Math.log10(v) : v) - lo) / (hi - lo) * (to - from);
  }

  function ticks(lo, hi, log) {
    if (log) {
      const out = [];
      for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
      return out.filter((t) => t >= lo / 1.0001 && t <= hi * 1.0001);
    }
    const step = 10 ** Math.floor(Math.log10((hi - lo) / 4 || 1));
    const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= 6) || step * 10;
    const out = [];
    for (let t = Math.ceil(lo / nice) * nice; t <= hi + nice * 1e-9; t += nice) out.push(+t.toPrecision(12));
    return out;
  }

  function label(v) {
    return v === 0 || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4) ? String(+v.toPrecision(3)) : v.toExponential(0);
  }

  // Log axes span whole decades, so that a curve's tail is read against labelled powers of ten.
  function domain(values, log) {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (log) { lo = 10 ** Math.floor(Math.log10(lo)); hi = 10 ** Math.ceil(Math.log10(hi)); }
    else { lo = Math.min(lo, 0); }
    return [lo, hi];
  }

  function plot(container, { id, title, xLabel, yLabel, xLog = false, yLog = false, series, hline }) {
    container.replaceChildren();
    const xs = usable(series.flatMap((s) => s.x), xLog);
    const ys = usable(series.flatMap((s) => s.y).concat(hline ? [hline.y] : []), yLog);
    const svg = el("svg", { class: "plot", id, viewBox: `0 0 ${W} ${H}`, "data-title": title }, container);
    el("text", { x: M.left, y: 12 }, svg).textContent = title;
    if (!xs.length || !ys.length) {
      el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, svg).textContent = "no values to plot";
      return svg;
    }
    const [x0, x1] = domain(xs, xLog), [y0, y1] = domain(ys, yLog);
    const sx = scale(x0, x1, xLog, M.left, W - M.right), sy = scale(y0, y1, yLog, H - M.bottom, M.top);
    for (const t of ticks(x0, x1, xLog)) {
      el("line", { class: "grid", x1: sx(t), x2: sx(t), y1: M.top, y2: H - M.bottom }, svg);
      el("text", { x: sx(t), y: H - M.bottom + 12, "text-anchor": "middle" }, svg).textContent = label(t);
    }
    for (const t of ticks(y0, y1, yLog)) {
      el("line", { class: "grid", x1: M.left, x2: W - M.right, y1: sy(t), y2: sy(t) }, svg);
      el("text", { x: M.left - 3, y: sy(t) + 3, "text-anchor": "end" }, svg).textContent = label(t);
    }
    el("path", { class: "axis", fill: "none", d: `M${M.left},${M.top}V${H - M.bottom}H${W - M.right}` }, svg);
    el("text", { x: (M.left + W - M.right) / 2, y: H - 4, "text-anchor": "middle" }, svg).textContent = xLabel;
    el("text", { x: 10, y: (M.top + H - M.bottom) / 2, "text-anchor": "middle", transform: `rotate(-90 10 ${(M.top + H - M.bottom) / 2})` }, svg).textContent = yLabel;
    if (hline && (!yLog || hline.y > 0)) {
      const line = el("line", { class: "rp", x1: M.left, x2: W - M.right, y1: sy(hline.y), y2: sy(hline.y), "data-y": JSON.stringify(hline.y) }, svg);
      line.setAttribute("data-label", hline.label);
      el("text", { x: W - M.right - 2, y: sy(hline.y) - 3, "text-anchor": "end", fill: "#c00" }, svg).textContent = hline.label;
    }
    const legend = document.createElement("div");
    legend.className = "plot-legend";
    series.forEach((s, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const points = s.x.map((x, j) => [x, s.y[j]]).filter(([x, y]) => usable([x], xLog).length && usable([y], yLog).length);
      const d = points.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(2)},${sy(y).toFixed(2)}`).join("");
      const path = el("path", { class: "series", d: d || "M0,0", stroke: colour }, svg);
      path.dataset.name = s.name;
      path.dataset.x = JSON.stringify(s.x);
      path.dataset.y = JSON.stringify(s.y);
      for (const [x, y] of points) el("circle", { cx: sx(x), cy: sy(y), r: 1.8, fill: colour }, svg);
      const key = document.createElement("span");
      key.style.setProperty("--c", colour);
      key.textContent = s.name;
      legend.appendChild(key);
    });
    container.appendChild(legend);
    return svg;
  }

  return { plot };
})();
