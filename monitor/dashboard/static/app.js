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
const state = { range: new URLSearchParams(location.search).get("range"), refresh: 30, timer: null };

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

async function drawCharts() {
  const answer = await getJSON(`api/charts?range=${state.range}`);
  for (const panel of answer.panels) {
    views[panel.id]?.finalize();
    views[panel.id] = await vegaEmbed(chartBox(panel), panel.spec, EMBED);
  }
  return answer;
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
    const [charts] = await Promise.all([drawCharts(), drawHeadlines(), drawModels()]);
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
  pick(state.range || config.range);
  schedule();
}

start().catch((error) => report(`error: ${error.message}`));
