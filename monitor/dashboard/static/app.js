// finmon dashboard: asks finmon (never Elasticsearch) for the Kibana panels' Vega-Lite specs with their data
// inlined, draws them with the vendored Vega runtime, and lists the latest negative headlines.
"use strict";

const errors = document.getElementById("errors");
const report = (message) => { errors.textContent += message + "\n"; };
const consoleError = console.error.bind(console);
console.error = (...args) => { report(args.map(String).join(" ")); consoleError(...args); };
window.addEventListener("error", (event) => report(`error: ${event.message}`));
window.addEventListener("unhandledrejection", (event) => report(`error: ${event.reason}`));

const views = {}; // panel id -> vega-embed result, finalized before a redraw
// Vega evaluates expressions with its AST interpreter: the page's CSP allows no eval.
const EMBED = { renderer: "svg", actions: false, ast: true, expr: vega.expressionInterpreter };
const params = new URLSearchParams(location.search);
const state = { range: params.get("range"), refresh: 30, timer: null, focus: focusOf(params) };
// the share chart of each scope kind (an alert's generatorURL opens the page on its scope)
const SHARE_PANELS = { topic: "finmon-negative-share", ticker: "finmon-ticker-negative-share" };

// ?scope=topic&topic=X / ?scope=ticker&ticker=Y / ?scope=all, as finmon's pushed alerts link the page
function focusOf(query) {
  const scope = query.get("scope");
  if (scope === "all") return { scope, key: null };
  if (scope !== "topic" && scope !== "ticker") return null;
  const key = query.get(scope);
  return key ? { scope, key } : null;
}

async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${path}: HTTP ${response.status}`);
  return body;
}

function chartBox(panel) {
  let box = document.getElementById(`chart-${panel.id}`);
  if (!box) {
    box = document.createElement("div");
    box.id = `chart-${panel.id}`;
    box.className = "chart";
    box.dataset.panel = panel.id;
    box.innerHTML = '<div class="vis"></div>';
    document.getElementById("charts").appendChild(box);
  }
  return box.querySelector(".vis");
}

// The focused scope's line and alert periods only (a filter predicate: the key stays data, never code).
function focused(panel) {
  const focus = state.focus;
  if (!focus || !focus.key || SHARE_PANELS[focus.scope] !== panel.id) return panel.spec;
  const only = { filter: { field: "key", equal: focus.key } };
  const layer = panel.spec.layer.map((part) => ({ ...part, transform: [...(part.transform || []), only] }));
  return { ...panel.spec, layer };
}

async function drawCharts() {
  const answer = await getJSON(`api/charts?range=${state.range}`);
  for (const panel of answer.panels) {
    views[panel.id]?.finalize();
    const spec = focused(panel);
    views[panel.id] = await vegaEmbed(chartBox(panel), spec, EMBED);
    document.getElementById(`chart-${panel.id}`).classList.toggle("focus", spec !== panel.spec);
  }
  return answer;
}

function showFocus() {
  const focus = state.focus;
  const line = document.getElementById("focus");
  line.hidden = !focus;
  if (!focus) return;
  document.getElementById("focus-text").textContent = focus.key ? `focused on ${focus.scope} ${focus.key}` : "focused on all news";
  const rest = new URLSearchParams(location.search);
  for (const name of ["scope", "topic", "ticker"]) rest.delete(name);
  document.getElementById("focus-clear").href = `./${rest.toString() ? "?" + rest : ""}`;
}

function matchesFocus(scope, key) {
  const focus = state.focus;
  return Boolean(focus && (focus.key ? scope === focus.scope && key === focus.key : scope === "all"));
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

async function drawHeadlines() {
  const answer = await getJSON(`api/headlines?range=${state.range}`);
  const body = document.querySelector("#headlines tbody");
  body.replaceChildren();
  for (const item of answer.headlines) {
    const row = body.insertRow();
    cell(row, (item.time || "").replace("T", " ").slice(0, 16));
    const link = document.createElement("a");
    link.textContent = item.title;
    if (/^https?:\/\//i.test(item.url || "")) { link.href = item.url; link.rel = "noopener noreferrer"; link.target = "_blank"; }
    row.insertCell().appendChild(link);
    cell(row, item.topic);
    cell(row, (item.tickers || []).join(", "));
    cell(row, item.score == null ? "" : item.score.toFixed(2), "num");
    cell(row, item.source);
    const focus = state.focus;
    if (focus && focus.key && (focus.scope === "topic" ? item.topic === focus.key : (item.tickers || []).includes(focus.key))) {
      row.className = "focus";
    }
  }
}

const time = (text) => (text || "").replace("T", " ").slice(0, 16);

function amCell(row, states) {
  const td = row.insertCell();
  if (!states.length) td.textContent = "—";
  for (const am of states) {
    const line = document.createElement("span");
    const why = am.state === "silenced" ? ` (silence ${am.silenced_by.join(", ")})`
      : am.state === "inhibited" ? ` (by ${am.inhibited_by.join(", ")})`
      : am.state === "unreachable" ? `: ${am.error}` : "";
    line.textContent = `${states.length > 1 ? am.url + ": " : ""}${am.state === "absent" ? "not there" : am.state}${why}`;
    line.className = `am ${am.state}`;
    line.title = am.url;
    td.appendChild(line);
  }
}

function amSummary(answer) {
  if (!answer.configured) return "· Alertmanager not configured (FINMON_ALERTS__ALERTMANAGER_URLS)";
  return "· " + answer.alertmanagers.map((am) => am.reachable
    ? `${am.url}: ${am.alerts} finmon alerts` : `${am.url}: unreachable (${am.error})`).join(" · ");
}

async function drawAlerts() {
  const body = document.querySelector("#alerts tbody");
  const summary = document.getElementById("am-summary");
  try {
    const answer = await getJSON(`api/alerts?range=${state.range}`);
    summary.textContent = amSummary(answer);
    body.replaceChildren();
    for (const alert of answer.alerts) {
      const row = body.insertRow();
      row.className = alert.status;
      row.dataset.fingerprint = alert.fingerprint;
      if (matchesFocus(alert.scope, alert.key)) row.classList.add("focus");
      cell(row, alert.status);
      cell(row, alert.key ? `${alert.scope} ${alert.key}` : alert.scope);
      cell(row, alert.rule);
      cell(row, alert.severity);
      cell(row, time(alert.starts_at));
      cell(row, alert.status === "firing" ? "now" : time(alert.ends_at || alert.at));
      amCell(row, alert.alertmanager);
      cell(row, alert.summary);
    }
    if (!answer.alerts.length) cell(body.insertRow(), "no alerts in this range").colSpan = 8;
  } catch (error) {
    summary.textContent = `· cannot read the alerts: ${error.message}`;
  }
}

async function drawHealth() {
  const items = document.getElementById("health-items");
  const sources = document.getElementById("health-sources");
  try {
    const answer = await getJSON("api/health");
    items.replaceChildren(...answer.items.map((item) => {
      const span = document.createElement("span");
      span.className = `item ${item.state}`;
      span.dataset.name = item.name;
      span.textContent = `${item.name}: ${item.text}`;
      span.title = item.details.join("\n");
      return span;
    }));
    const down = answer.sources.filter((source) => !source.ok);
    sources.textContent = down.length ? `(not read: ${down.map((s) => `${s.name}: ${s.error}`).join("; ")})` : "";
  } catch (error) {
    sources.textContent = `(health unknown: ${error.message})`;
  }
}

function modelText(model) {
  const hash = model.hash ? ` #${model.hash}` : "";
  return `${model.name} ${model.version}${hash}: ${model.count}`;
}

async function drawModels() {
  const answer = await getJSON(`api/models?range=${state.range}`);
  const line = document.getElementById("models");
  line.textContent = answer.models.length
    ? `scored by ${answer.models.map(modelText).join(" · ")}${answer.models.length > 1 ? " (mixed: the series change model)" : ""}`
    : "no news scored in this range";
  line.classList.toggle("mixed", answer.models.length > 1);
}

async function load() {
  document.body.dataset.state = "loading";
  try {
    const [charts] = await Promise.all([drawCharts(), drawHeadlines(), drawModels(), drawAlerts(), drawHealth()]);
    document.getElementById("status").textContent =
      `${charts.start.replace("T", " ")} → ${charts.end.replace("T", " ")} · ${charts.interval} buckets · ` +
      `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.state = "ready";
  } catch (error) {
    report(`error: ${error.message}`);
    document.body.dataset.state = "failed";
  }
}

function schedule() {
  clearInterval(state.timer);
  if (document.getElementById("auto").checked) state.timer = setInterval(load, state.refresh * 1000);
}

function pick(range) {
  state.range = range;
  for (const button of document.querySelectorAll("#ranges button")) {
    button.classList.toggle("active", button.dataset.range === range);
  }
  load();
}

async function start() {
  const config = await getJSON("api/config");
  state.refresh = config.refresh;
  for (const button of document.querySelectorAll("#ranges button")) {
    button.addEventListener("click", () => pick(button.dataset.range));
  }
  document.getElementById("auto").addEventListener("change", schedule);
  showFocus();
  pick(state.range || config.range);
  schedule();
}

start().catch((error) => report(`error: ${error.message}`));
