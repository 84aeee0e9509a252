// The live page: polls the collector's JSON API and draws effective rank and α against the step
// (log axis), the phases of the first layer as bands, transitions and stage changes as lines, and
// beside them the training scalars the run sent (loss, named scalars such as held-out accuracy).
// Plain SVG, no dependencies: the page must load from a collector with no internet access.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const POLL_MS = 2000;
let currentRun = null;

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

// The API shapes (docs/http-api.md: the field names of the Prometheus metrics without "phasewatch_"),
// read defensively so a field added later does not break the page.
function runsOf(json) {
  const runs = Array.isArray(json) ? json : json.runs || [];
  return runs.map((r) => ({
    run: r.run,
    stage: r.stage,
    layers: (r.layers || []).map((l) => (typeof l === "string" ? { layer: l } : l)),
  }));
}
function pointsOf(json) {
  const points = Array.isArray(json) ? json : json.points || json.series || [];
  return points
    .map((p) => ({
      step: Number(p.step),
      rank: p.effective_rank,
      alpha: p.alpha,
      r2: p.alpha_fit_r2,
      phase: p.phase,
      stage: p.stage,
    }))
    .filter((p) => Number.isFinite(p.step));
}
// /api/runs/{run}/training → one series per scalar name: [{ layer: name, points: [{step, value}] }].
function scalarSeriesOf(json) {
  const byName = new Map();
  for (const p of json.points || []) {
    for (const [name, v] of Object.entries(p.scalars || {})) {
      if (!byName.has(name)) byName.set(name, []);
      byName.get(name).push({ step: Number(p.step), value: Number(v) });
    }
  }
  return [...byName.entries()].map(([name, points]) => ({ layer: name, points }));
}
function eventsOf(json) {
  return Array.isArray(json) ? json : json.events || [];
}

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function draw(svg, series, key, bands, events, stages) {
  svg.replaceChildren();
  const W = 960, H = Number(svg.viewBox.baseVal.height) || 300, L = 55, R = 15, T = 12, B = 28;
  const all = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[key])));
  if (all.length === 0) {
    el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "tick" }, svg).textContent = "waiting for data…";
    return;
  }
  const steps = all.map((p) => Math.max(1, p.step));
  let x0 = Math.log10(Math.min(...steps)), x1 = Math.log10(Math.max(...steps));
  if (x1 - x0 < 0.1) { x0 -= 0.05; x1 += 0.05; } // a single step still gets an axis
  let y0 = Math.min(...all.map((p) => p[key])), y1 = Math.max(...all.map((p) => p[key]));
  const pad = (y1 - y0) * 0.08 || 1;
  y0 -= pad; y1 += pad;
  const sx = (step) => L + ((Math.log10(Math.max(1, step)) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);

  for (const b of bands) {
    el("rect", { x: sx(b.from), y: T, width: Math.max(1, sx(b.to) - sx(b.from)), height: H - T - B, class: b.phase }, svg);
  }
  el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }, svg);
  el("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }, svg);
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    for (const m of [1, 2, 5]) {
      const step = m * Math.pow(10, e);
      if (Math.log10(step) < x0 || Math.log10(step) > x1) continue;
      el("text", { x: sx(step), y: H - 10, "text-anchor": "middle", class: "tick" }, svg).textContent = String(step);
    }
  }
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    el("text", { x: L - 6, y: sy(v) + 4, "text-anchor": "end", class: "tick" }, svg).textContent = v.toFixed(v < 10 ? 2 : 1);
  }
  for (const s of stages) {
    el("line", { x1: sx(s.step), y1: T, x2: sx(s.step), y2: H - B, class: "stage" }, svg);
    el("text", { x: sx(s.step) + 3, y: T + 10, class: "stage-label" }, svg).textContent = s.stage;
  }
  for (const ev of events) {
    el("line", { x1: sx(ev.step), y1: T, x2: sx(ev.step), y2: H - B, class: "transition" }, svg);
  }
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[key]));
    if (pts.length === 0) return;
    const d = pts.map((p, j) => (j ? "L" : "M") + sx(p.step).toFixed(1) + "," + sy(p[key]).toFixed(1)).join("");
    const path = el("path", { d, class: "line", stroke: COLORS[i % COLORS.length], "data-layer": s.layer, "data-points": pts.length }, svg);
    el("title", {}, path).textContent = s.layer;
    for (const p of pts) {
      el("circle", { cx: sx(p.step).toFixed(1), cy: sy(p[key]).toFixed(1), r: 2.5, fill: COLORS[i % COLORS.length] }, svg);
    }
    const last = pts[pts.length - 1];
    el("text", { x: sx(last.step) - 4, y: sy(last[key]) - 6, "text-anchor": "end", class: "tick", fill: COLORS[i % COLORS.length] }, svg).textContent = s.layer;
  });
}

function bandsOf(points) {
  const bands = [];
  for (const p of points) {
    if (!p.phase) continue;
    const open = bands[bands.length - 1];
    if (open && open.phase === p.phase) open.to = p.step;
    else {
      if (open) open.to = p.step;
      bands.push({ phase: p.phase, from: p.step, to: p.step });
    }
  }
  return bands;
}

function stagesOf(points) {
  const stages = [];
  let last = null;
  for (const p of points) {
    if (p.stage && p.stage !== last) {
      if (last !== null) stages.push({ stage: p.stage, step: p.step });
      last = p.stage;
    }
  }
  return stages;
}

function fmt(v, digits) {
  return Number.isFinite(v) ? v.toFixed(digits) : "–";
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const runs = runsOf(await getJson("/api/runs"));
    const select = document.getElementById("run");
    const names = runs.map((r) => r.run);
    if (select.options.length !== names.length || [...select.options].some((o, i) => o.value !== names[i])) {
      select.replaceChildren(...names.map((n) => new Option(n, n)));
    }
    currentRun = names.includes(currentRun) ? currentRun : names[0] || null;
    select.value = currentRun || "";
    const run = runs.find((r) => r.run === currentRun);
    if (!run) {
      status.textContent = "no runs yet";
      return;
    }
    const series = [];
    for (const l of run.layers) {
      const json = await getJson("/api/runs/" + encodeURIComponent(run.run) + "/layers/" + encodeURIComponent(l.layer) + "/series");
      series.push({ layer: l.layer, points: pointsOf(json) });
    }
    const events = eventsOf(await getJson("/api/events")).filter((e) => e.run === run.run);
    const head = series[0] ? series[0].points : [];
    const stages = stagesOf(head);
    draw(document.getElementById("rank-chart"), series, "rank", bandsOf(head), events, stages);
    draw(document.getElementById("alpha-chart"), series, "alpha", bandsOf(head), events, stages);

    // Training scalars: losses on one chart, the other named scalars on another; the learning rate
    // (a much smaller scale) is shown as text.
    const scalars = scalarSeriesOf(await getJson("/api/runs/" + encodeURIComponent(run.run) + "/training"));
    const losses = scalars.filter((s) => s.layer.includes("loss"));
    const named = scalars.filter((s) => !s.layer.includes("loss") && s.layer !== "learning_rate");
    for (const [id, group] of [["loss", losses], ["eval", named]]) {
      document.getElementById(id + "-figure").hidden = group.length === 0;
      if (group.length) draw(document.getElementById(id + "-chart"), group, "value", bandsOf(head), events, stages);
    }
    document.getElementById("training").textContent = scalars.length
      ? "latest: " + scalars.map((s) => s.layer + " " + s.points[s.points.length - 1].value.toPrecision(4) + " (step " + s.points[s.points.length - 1].step + ")").join(", ")
      : "";

    const body = document.querySelector("#layers tbody");
    body.replaceChildren(
      ...series.map((s) => {
        const p = s.points[s.points.length - 1] || {};
        const info = run.layers.find((l) => l.layer === s.layer) || {};
        const tr = document.createElement("tr");
        for (const [text, cls] of [[s.layer], [p.stage || "–"], [p.step ?? "–"], [fmt(p.rank, 2)], [fmt(p.alpha, 3)], [fmt(p.r2, 3)], [p.phase || "–", "phase " + (p.phase || "")], [info.phase_since_step ?? "–"]]) {
          const td = document.createElement("td");
          td.textContent = text;
          if (cls) td.className = cls;
          tr.appendChild(td);
        }
        return tr;
      })
    );
    document.getElementById("events").replaceChildren(
      ...events.map((e) => {
        const li = document.createElement("li");
        li.textContent = `step ${e.step}: ${e.layer} (${e.stage}) ${e.from} → ${e.to}`;
        return li;
      })
    );
    status.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    status.textContent = "error: " + err.message;
  }
}

document.getElementById("run").addEventListener("change", (e) => {
  currentRun = e.target.value;
  refresh();
});
refresh();
setInterval(refresh, POLL_MS);
