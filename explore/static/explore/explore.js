// The Icebox explorer: a hazard map drawn from an artifact's TileJSON, its value under the
// pointer, a site's hazard curves and spectrum on click, and the difference of two maps.
// It reads only the public API, with the browser's session, as any other client would.
// The state lives in the URL (query: what is shown; hash: where the map looks), so a view
// can be shared and reloaded.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SEQUENTIAL = ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]; // ColorBrewer YlOrRd
  const DIVERGING = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"]; // ColorBrewer RdBu, reversed
  const TYPE_NAMES = { hazard_map: "Hazard maps", hazard_curve: "Hazard curves", uhs: "Uniform hazard spectra" };

  // ------------------------------------------------------------------ the API

  class ApiError extends Error {}

  async function api(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError((body && body.detail) || `${response.status} ${response.statusText}`);
    return body;
  }

  async function everyPage(url) {
    const items = [];
    for (let next = url; next; ) {
      const page = await api(next);
      items.push(...page.results);
      // Same origin whatever scheme the server believes it has (behind a TLS proxy, say).
      next = page.next && (({ pathname, search }) => pathname + search)(new URL(page.next));
    }
    return items;
  }

  // ------------------------------------------------------------------ state in the URL

  const query = new URLSearchParams(location.search);
  const number = (text) => (text === null || text === "" || !Number.isFinite(+text) ? null : +text);
  const state = {
    artifact: number(query.get("artifact")),
    column: query.get("column"),
    compare: number(query.get("compare")),
    filter: query.get("filter"), // "column=value", for artifacts with a filterable column (events)
    site: (query.get("site") || "").split(",").map(number).filter((v) => v !== null),
    rp: number(query.get("rp")),
    allImts: query.get("imts") !== "chosen",
  };
  if (state.site.length !== 2) state.site = null;

  function saveState() {
    const q = new URLSearchParams();
    if (state.artifact !== null) q.set("artifact", state.artifact);
    if (state.column) q.set("column", state.column);
    if (state.compare !== null) q.set("compare", state.compare);
    if (state.filter) q.set("filter", state.filter);
    if (state.site) q.set("site", state.site.join(","));
    if (state.rp !== null) q.set("rp", state.rp);
    if (!state.allImts) q.set("imts", "chosen");
    history.replaceState(history.state, "", `${location.pathname}?${q}${location.hash}`);
  }

  // ------------------------------------------------------------------ artifacts and their columns

  let artifacts = [];
  const calculations = new Map();
  const byId = (id) => artifacts.find((a) => a.id === id) || null;
  const calculationOf = (a) => (a.metadata.source && a.metadata.source.calculation) || null;
  const groupOf = (a) => (calculationOf(a) ? `calc:${calculationOf(a)}` : `upload:${a.metadata.calc_id ?? "-"}`);
  const outputOf = (a) => [a.artifact_type, a.metadata.imt || "", a.metadata.return_period || ""].join("|");
  // A column to filter features by rather than to colour them: the events of ground-motion fields.
  const isFilter = (c) => c.filterable === true || c.quantity === "event_id" || c.name === "event_id";
  const valueColumns = (a) => a.metadata.columns.filter((c) => !c.is_text && !["depth", "site_id"].includes(c.quantity) && !isFilter(c));
  const filterColumns = (a) => a.metadata.columns.filter(isFilter);
  const currentColumn = (a) => (a && valueColumns(a).find((c) => c.name === state.column)) || null;

  function groupLabel(key) {
    const [kind, id] = key.split(":");
    if (kind === "calc") {
      const c = calculations.get(+id);
      return c ? `Calculation ${c.id}: ${c.description} (engine calc ${c.calc_id})` : `Calculation ${id}`;
    }
    return id === "-" ? "Uploaded files" : `Uploaded files of engine calc ${id}`;
  }

  function outputLabel(a) {
    let text = TYPE_NAMES[a.artifact_type] || a.artifact_type;
    if (a.metadata.imt) text += ` of ${a.metadata.imt}`;
    if (a.metadata.return_period) text += `, ${a.metadata.return_period}-year return period`;
    return text;
  }

  function columnLabel(a, c) {
    if (c.quantity === "poe") return `poE of ${c.imt} ≥ ${c.iml} g`;
    if (c.quantity === "iml" && c.poe !== null) return `${c.imt} (g) at poE ${c.poe} in ${a.metadata.investigation_time ?? "?"} y`;
    if (c.quantity === "iml" && a.metadata.return_period) return `${c.imt} (g), ${a.metadata.return_period}-year return period`;
    return c.name;
  }

  // Accelerations and probabilities span decades: their colours go by the logarithm.
  const logScale = (c) => c && (c.quantity === "iml" || c.quantity === "poe");

  // ------------------------------------------------------------------ messages

  function say(text) {
    $("message").textContent = text;
    $("message").hidden = !text;
  }

  const fmt = (v) => (v === null || v === undefined ? "–" : typeof v === "number" ? String(+v.toPrecision(4)) : String(v));

  // ------------------------------------------------------------------ the selectors

  function fill(select, options, value) {
    select.replaceChildren(...options.map(([v, label]) => new Option(label, v)));
    select.value = value;
    return select.value;
  }

  const unique = (values) => [...new Set(values)];

  function fillSelectors() {
    $("all-imts").checked = state.allImts;
    const a = byId(state.artifact);
    const groups = unique(artifacts.map(groupOf)).map((g) => [g, groupLabel(g)]);
    if (!a) {
      // An id in the URL that is not in the list: say which, do not pretend another is shown.
      const placeholder = state.artifact === null ? "no artifacts" : `artifact ${state.artifact}`;
      fill($("group"), [["", placeholder], ...groups], "");
      for (const id of ["output", "kind", "column", "compare"]) fill($(id), [], "");
      $("filter-row").hidden = true;
      return;
    }
    const group = artifacts.filter((b) => groupOf(b) === groupOf(a));
    fill($("group"), groups, groupOf(a));
    fill($("output"), unique(group.map(outputOf)).map((o) => [o, outputLabel(group.find((b) => outputOf(b) === o))]), outputOf(a));
    fill($("kind"), group.filter((b) => outputOf(b) === outputOf(a)).map((b) => [b.id, b.metadata.kind || b.name]), a.id);
    const columns = valueColumns(a);
    if (!currentColumn(a)) state.column = columns.length ? columns[0].name : null;
    fill($("column"), columns.map((c) => [c.name, columnLabel(a, c)]), state.column);

    const filters = filterColumns(a);
    $("filter-row").hidden = !filters.length;
    if (filters.length) $("filter-label").textContent = filters[0].name;

    const names = columns.map((c) => c.name).join("\n");
    const comparable = artifacts.filter((b) => b.id !== a.id && b.artifact_type === a.artifact_type && valueColumns(b).map((c) => c.name).join("\n") === names);
    if (state.compare !== null && !comparable.some((b) => b.id === state.compare)) state.compare = null;
    fill($("compare"), comparable.map((b) => [b.id, `${b.name} (${groupLabel(groupOf(b))})`]), state.compare ?? (comparable[0] || {}).id);
    $("compare-on").checked = state.compare !== null;
    $("compare").disabled = state.compare === null;
  }

  // Moving to another calculation or output keeps what can be kept: the statistic, the column.
  function pick(candidates) {
    const now = byId(state.artifact);
    const kind = now && now.metadata.kind;
    return candidates.find((b) => b.metadata.kind === kind) || candidates.find((b) => b.artifact_type === "hazard_map") || candidates[0];
  }

  function choose(artifact) {
    state.artifact = artifact.id;
    state.compare = null;
    state.filter = null;
    update();
  }

  $("group").addEventListener("change", (e) => choose(pick(artifacts.filter((b) => groupOf(b) === e.target.value))));
  $("output").addEventListener("change", (e) => {
    const a = byId(state.artifact);
    choose(pick(artifacts.filter((b) => groupOf(b) === groupOf(a) && outputOf(b) === e.target.value)));
  });
  $("kind").addEventListener("change", (e) => {
    state.artifact = +e.target.value;
    if (state.compare === state.artifact) state.compare = null;
    update();
  });
  $("column").addEventListener("change", (e) => { state.column = e.target.value; update(); });
  $("compare-on").addEventListener("change", (e) => { state.compare = e.target.checked && $("compare").value ? +$("compare").value : null; update(); });
  $("compare").addEventListener("change", (e) => { state.compare = +e.target.value; update(); });
  $("filter").addEventListener("change", (e) => { state.filter = e.target.value || null; applyFilter(); saveState(); });
  $("rp").addEventListener("change", (e) => { state.rp = number(e.target.value); saveState(); plotSite(); });
  $("all-imts").addEventListener("change", (e) => { state.allImts = e.target.checked; saveState(); plotSite(); });

  // ------------------------------------------------------------------ the map

  // Read before the map exists: its hash handler writes a camera into the URL at once.
  const cameraFromUrl = /[#&]map=/.test(location.hash);
  const map = new maplibregl.Map({
    container: "map",
    // No base map: the machines that run Icebox may have no internet, and the page needs none.
    style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#e9eef2" } }] },
    center: [0, 20],
    zoom: 1,
    hash: "map",
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.addControl(new maplibregl.ScaleControl());
  let shown = null; // what the layer draws: {valueName, sourceLayer, compare, log, label}
  // Selections can change faster than the API answers: only the latest one may draw.
  let generation = 0;
  let fitted = null; // the bounds the camera was last fitted to

  const mapReady = new Promise((resolve) => map.on("load", resolve));

  function removeLayer() {
    for (const id of ["values", "site"]) if (map.getLayer(id)) map.removeLayer(id);
    if (map.getSource("values")) map.removeSource("values");
    shown = null;
  }

  async function showLayer() {
    const mine = ++generation;
    const stale = () => mine !== generation;
    document.body.dataset.status = "loading";
    await mapReady;
    if (stale()) return;
    removeLayer();
    clearLegend();
    $("compare-summary").replaceChildren();
    const a = byId(state.artifact);
    const id = a ? a.id : state.artifact;
    if (id === null) { document.body.dataset.status = "empty"; return; }
    if (!a) {
      // Not among the user's artifacts: the API says why (another user's is a 404, like a missing one).
      try {
        await api(`/artifact/${id}/tiles.json`);
        if (!stale()) say(`Artifact ${id} is not in your list of artifacts.`);
      } catch (error) {
        if (!stale()) say(`Artifact ${id}: ${error.message}`);
      }
      if (!stale()) document.body.dataset.status = "error";
      return;
    }
    const column = currentColumn(a);
    if (!column) {
      say(`Artifact ${id} has no numeric column to map.`);
      document.body.dataset.status = "error";
      return;
    }
    let source, sourceLayer, valueName, range, bounds;
    try {
      if (state.compare !== null) {
        const q = `a=${a.id}&b=${state.compare}&properties=${encodeURIComponent(column.name)}`;
        const summary = await api(`/compare/summary?${q}`);
        if (stale()) return;
        showSummary(summary, column.name);
        const d = summary.columns[column.name].difference;
        const m = Math.max(Math.abs(d.min ?? 0), Math.abs(d.max ?? 0)) || 1e-12;
        range = { lo: -m, hi: m };
        source = { type: "vector", tiles: [`${location.origin}/compare/tiles/{z}/{x}/{y}.mvt?${q}`], bounds: a.bbox };
        sourceLayer = "compare";
        valueName = `${column.name}:difference`;
        bounds = a.bbox;
      } else {
        const properties = [column.name, ...filterColumns(a).map((c) => c.name)];
        const tilejson = await api(`/artifact/${id}/tiles.json` + (properties.length ? `?properties=${encodeURIComponent(properties.join(","))}` : ""));
        if (stale()) return;
        source = { type: "vector", tiles: tilejson.tiles, bounds: tilejson.bounds, minzoom: tilejson.minzoom, maxzoom: tilejson.maxzoom };
        sourceLayer = tilejson.vector_layers[0].id;
        valueName = column.name;
        bounds = tilejson.bounds;
      }
    } catch (error) {
      if (stale()) return;
      say(`Artifact ${id}: ${error.message}`);
      document.body.dataset.status = "error";
      return;
    }
    say("");
    shown = { valueName, sourceLayer, compare: state.compare !== null, log: state.compare === null && logScale(column), label: columnLabel(a, column) };
    map.addSource("values", source);
    map.addLayer({
      id: "values", type: "circle", source: "values", "source-layer": sourceLayer,
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 2, 2, 8, 5, 13, 9],
        "circle-color": "#999999",
        "circle-stroke-color": "#555555",
        "circle-stroke-width": 0.5,
      },
    });
    applyFilter();
    // The camera moves to a map's sites when they are other sites than those shown before (not
    // for another column or statistic of the same calc), and not at all when the URL gave it.
    const where = JSON.stringify(bounds);
    if (where !== fitted && !(fitted === null && cameraFromUrl)) map.fitBounds([[bounds[0], bounds[1]], [bounds[2], bounds[3]]], { padding: 60, maxZoom: 13, duration: 0 });
    fitted = where;
    if (range) setRamp(range, stale);
    else map.once("idle", () => { if (!stale()) setRamp(rangeInView(), stale); });
  }

  // Without a statistics endpoint, a map's colours span the values of the sites first loaded.
  function rangeInView() {
    const values = map.querySourceFeatures("values", { sourceLayer: shown.sourceLayer })
      .map((f) => f.properties[shown.valueName])
      .filter((v) => typeof v === "number" && (!shown.log || v > 0));
    if (!values.length) return null;
    return { lo: Math.min(...values), hi: Math.max(...values) };
  }

  $("rescale").addEventListener("click", () => {
    const mine = generation;
    if (shown && !shown.compare) setRamp(rangeInView(), () => mine !== generation);
  });

  function setRamp(range, stale) {
    $("rescale").hidden = shown.compare;
    if (!range) {
      clearLegend();
      $("legend").textContent = "No site of this map in view.";
      document.body.dataset.status = "drawn";
      return;
    }
    let { lo, hi } = range;
    const colours = shown.compare ? DIVERGING : SEQUENTIAL;
    if (hi <= lo) { if (shown.log) { lo /= 2; hi *= 2; } else { lo -= 0.5; hi += 0.5; } }
    const stops = colours.map((colour, i) => {
      const t = i / (colours.length - 1);
      return [shown.log ? lo * (hi / lo) ** t : lo + (hi - lo) * t, colour];
    });
    const value = ["to-number", ["get", shown.valueName], 0];
    const input = shown.log ? ["ln", ["max", value, lo]] : value;
    const expression = ["interpolate", ["linear"], input, ...stops.flatMap(([v, colour]) => [shown.log ? Math.log(v) : v, colour])];
    map.setPaintProperty("values", "circle-color", expression);
    drawLegend(stops);
    map.once("idle", () => { if (!stale()) document.body.dataset.status = "drawn"; });
  }

  function clearLegend() {
    const legend = $("legend");
    legend.replaceChildren();
    for (const key of Object.keys(legend.dataset)) delete legend.dataset[key];
  }

  function drawLegend(stops) {
    const legend = $("legend");
    legend.dataset.scale = shown.log ? "log" : "linear";
    legend.dataset.stops = JSON.stringify(stops);
    legend.dataset.value = shown.valueName;
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = (shown.compare ? `B − A: ${shown.label}` : shown.label) + (shown.log ? " (log scale)" : "");
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.background = `linear-gradient(to right, ${stops.map(([, c]) => c).join(", ")})`;
    const ticks = document.createElement("div");
    ticks.className = "ticks";
    for (const i of [0, Math.floor(stops.length / 2), stops.length - 1]) ticks.appendChild(Object.assign(document.createElement("span"), { textContent: fmt(stops[i][0]) }));
    legend.replaceChildren(title, bar, ticks);
  }

  function showSummary(summary, column) {
    const box = $("compare-summary");
    const d = summary.columns[column].difference, r = summary.columns[column].ratio;
    box.dataset.summary = JSON.stringify(summary);
    box.textContent = `${summary.matched} sites matched (${summary.match_by}), ${summary.only_a} only in A, ${summary.only_b} only in B. ` +
      `B − A: min ${fmt(d.min)}, max ${fmt(d.max)}, mean ${fmt(d.mean)}; B / A: mean ${fmt(r.mean)}.`;
  }

  // Events (or any filterable column): the values seen in the loaded tiles, one at a time.
  function applyFilter() {
    const a = byId(state.artifact);
    const filters = a ? filterColumns(a) : [];
    if (!filters.length || !map.getLayer("values")) return;
    const name = filters[0].name;
    const chosen = state.filter && state.filter.startsWith(`${name}=`) ? state.filter.slice(name.length + 1) : "";
    map.setFilter("values", chosen === "" ? null : ["==", ["to-string", ["get", name]], chosen]);
    map.once("idle", () => {
      const seen = unique(map.querySourceFeatures("values", { sourceLayer: shown.sourceLayer }).map((f) => f.properties[name])).sort((x, y) => x - y);
      fill($("filter"), [["", "all"], ...seen.map((v) => [`${name}=${v}`, String(v)])], chosen === "" ? "" : `${name}=${chosen}`);
    });
  }

  // ------------------------------------------------------------------ hover

  const hover = $("hover");
  map.on("mousemove", "values", (e) => {
    const p = e.features[0].properties;
    const lines = shown.compare
      ? [`A: ${fmt(p[`${state.column}:a`])}`, `B: ${fmt(p[`${state.column}:b`])}`, `B − A: ${fmt(p[`${state.column}:difference`])}`, `B / A: ${fmt(p[`${state.column}:ratio`])}`]
      : [`${shown.label}: ${fmt(p[shown.valueName])}`];
    hover.textContent = lines.join("\n");
    hover.dataset.value = JSON.stringify(p[shown.valueName] ?? null);
    hover.style.left = `${e.originalEvent.clientX + 12}px`;
    hover.style.top = `${e.originalEvent.clientY + 12}px`;
    hover.hidden = false;
    map.getCanvas().style.cursor = "pointer";
  });
  map.on("mouseleave", "values", () => { hover.hidden = true; map.getCanvas().style.cursor = ""; });

  // ------------------------------------------------------------------ a site's curves and spectra

  map.on("click", (e) => {
    state.site = [+e.lngLat.lng.toFixed(6), +e.lngLat.lat.toFixed(6)];
    saveState();
    showSite();
  });

  const periodOf = (imt) => (imt === "PGA" ? 0 : /^SA\(([0-9.]+)\)$/.test(imt) ? +imt.slice(3, -1) : null);
  let siteData = null, siteGeneration = 0;

  // One request for an imported calculation; for uploaded files, one per curve or spectrum file
  // of the same engine calc and statistic (there is no calculation to ask).
  async function fetchSite(a, lon, lat) {
    const where = `lon=${lon}&lat=${lat}`;
    const calc = calculationOf(a);
    if (calc) {
      const answer = await api(`/calculations/${calc}/site?${where}`);
      return { site: answer.site, curves: answer.hazard_curves, uhs: answer.uhs };
    }
    const siblings = artifacts.filter((b) => groupOf(b) === groupOf(a) && ["hazard_curve", "uhs"].includes(b.artifact_type) && (b.metadata.kind ?? null) === (a.metadata.kind ?? null));
    const answers = await Promise.all(siblings.map((b) => api(`/artifact/${b.id}/site?${where}`).then((f) => [b, f])));
    const own = answers.length ? answers[0][1] : await api(`/artifact/${a.id}/site?${where}`);
    const site = { id: own.id, lon: own.geometry.coordinates[0], lat: own.geometry.coordinates[1], distance_km: own.distance_km };
    const curves = [], uhs = [];
    for (const [b, f] of answers) {
      const m = b.metadata;
      if (b.artifact_type === "hazard_curve") {
        const cols = m.columns.filter((c) => c.quantity === "poe");
        curves.push({ artifact: b.id, kind: m.kind, imt: m.imt, investigation_time: m.investigation_time, imls: cols.map((c) => c.iml), poes: cols.map((c) => f.properties[c.name]) });
      } else {
        for (const poe of unique(m.columns.filter((c) => c.quantity === "iml").map((c) => c.poe))) {
          const cols = m.columns.filter((c) => c.quantity === "iml" && c.poe === poe);
          uhs.push({ artifact: b.id, kind: m.kind, investigation_time: m.investigation_time, poe, imts: cols.map((c) => c.imt), periods: cols.map((c) => periodOf(c.imt)), values: cols.map((c) => f.properties[c.name]) });
        }
      }
    }
    return { site, curves, uhs };
  }

  async function showSite() {
    const a = byId(state.artifact);
    if (!state.site || !a) return;
    const section = $("site");
    section.hidden = false;
    section.dataset.status = "loading";
    const mine = ++siteGeneration;
    let answer;
    try {
      answer = await fetchSite(a, ...state.site);
    } catch (error) {
      if (mine !== siteGeneration) return;
      siteData = null;
      $("site-where").textContent = "";
      $("curves").replaceChildren(Object.assign(document.createElement("p"), { textContent: error.message }));
      $("uhs").replaceChildren();
      section.dataset.status = "error";
      return;
    }
    if (mine !== siteGeneration) return;
    siteData = answer;
    const s = siteData.site;
    section.dataset.site = JSON.stringify(s);
    $("site-where").textContent = `${s.id}: ${s.lon}, ${s.lat} (${fmt(s.distance_km)} km away)`;
    const point = { type: "Feature", geometry: { type: "Point", coordinates: [s.lon, s.lat] }, properties: {} };
    if (map.getSource("site")) map.getSource("site").setData(point);
    else map.addSource("site", { type: "geojson", data: point });
    if (!map.getLayer("site")) map.addLayer({ id: "site", type: "circle", source: "site", paint: { "circle-radius": 12, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#000", "circle-stroke-width": 2 } });
    plotSite();
    section.dataset.status = "ready";
  }

  const poeOfReturnPeriod = (rp, years) => 1 - Math.exp(-years / rp);

  function defaultReturnPeriod(a) {
    if (a.metadata.return_period) return a.metadata.return_period;
    const c = currentColumn(a);
    const years = a.metadata.investigation_time || 1;
    if (c && c.poe) return Math.round(-years / Math.log(1 - c.poe));
    return 475;
  }

  function plotSite() {
    const a = byId(state.artifact);
    if (!siteData || !a) return;
    const kind = a.metadata.kind ?? null;
    const imt = (currentColumn(a) || {}).imt || a.metadata.imt || null;
    const mine = (x) => kind === null || x.kind === kind;
    const curves = siteData.curves.filter((c) => mine(c) && (state.allImts || !imt || c.imt === imt))
      .sort((x, y) => (periodOf(x.imt) ?? Infinity) - (periodOf(y.imt) ?? Infinity) || x.kind.localeCompare(y.kind));
    const rp = state.rp ?? defaultReturnPeriod(a);
    $("rp").value = rp;
    const years = (curves[0] || {}).investigation_time || a.metadata.investigation_time || 1;
    IceboxPlots.plot($("curves"), {
      id: "curves-plot", title: `Hazard curves, ${kind ?? "every statistic"} (${years} y)`, xLabel: "intensity measure level (g)", yLabel: "probability of exceedance",
      xLog: true, yLog: true, series: curves.map((c) => ({ name: `${c.kind} ${c.imt}`, x: c.imls, y: c.poes })),
      hline: { y: poeOfReturnPeriod(rp, years), label: `${rp}-year return period` },
    });
    const spectra = siteData.uhs.filter(mine);
    IceboxPlots.plot($("uhs"), {
      id: "uhs-plot", title: `Uniform hazard spectra, ${kind ?? "every statistic"}`, xLabel: "period (s)", yLabel: "spectral acceleration (g)",
      series: spectra.map((u) => ({ name: `${u.kind} poE ${u.poe}`, x: u.periods, y: u.values })),
    });
  }

  // ------------------------------------------------------------------ start

  async function update() {
    fillSelectors();
    saveState();
    await showLayer();
    if (state.site) await showSite();
  }

  async function start() {
    try {
      const [list, calcs] = await Promise.all([everyPage("/artifacts"), everyPage("/calculations")]);
      artifacts = list;
      for (const c of calcs) calculations.set(c.id, c);
    } catch (error) {
      say(`The artifacts could not be listed: ${error.message}`);
      return;
    }
    if (state.artifact === null) {
      const maps = artifacts.filter((a) => a.artifact_type === "hazard_map");
      const first = maps.find((a) => a.metadata.kind === "mean") || maps[0] || artifacts[0];
      if (first) state.artifact = first.id;
      else say("You have no artifacts yet: upload engine results (POST /artifacts) or import a calculation.");
    }
    await update();
  }

  window.explorer = { map, state, ready: start() };
})();
