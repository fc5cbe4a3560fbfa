// finmon review queue: the model's least certain news, one at a time, labelled from the keyboard. Labels
// are POSTed to finmon (never to Elasticsearch) with the page's same-origin token. Headline text and links
// stay data: textContent only, and only http(s) links.
"use strict";

const $ = (id) => document.getElementById(id);
const errors = $("errors");
const report = (message) => { errors.textContent += message + "\n"; };
window.addEventListener("error", (event) => report(`error: ${event.message}`));
window.addEventListener("unhandledrejection", (event) => report(`error: ${event.reason}`));

const state = {
  session: null, range: null, items: [], index: 0, pendingTopic: null,
  undo: [], skipped: new Set(), saved: 0, busy: false,
};

async function call(path, options = {}) {
  const response = await fetch(path, { cache: "no-store", ...options });
  let body;
  try { body = await response.json(); } catch { body = {}; }
  if (!response.ok) throw new Error(body.error || `${path}: HTTP ${response.status}`);
  return body;
}

function post(path, value) {
  return call(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Finmon-Token": state.session.token },
    body: JSON.stringify(value),
  });
}

const current = () => state.items[state.index] || null;
const pct = (value) => (value == null ? "" : value.toFixed(2));

function showItem() {
  const item = current();
  document.body.dataset.state = item ? "ready" : "empty";
  $("done-note").hidden = Boolean(item);
  $("item").dataset.id = item ? item.id : "";
  state.pendingTopic = null;
  $("pending-topic").textContent = "none";
  $("topic").value = "";
  $("topic-match").textContent = "";
  if (!item) { $("status").textContent = `${state.saved} labelled this session`; return; }
  const link = $("item-title");
  link.textContent = item.title;
  if (/^https?:\/\//i.test(item.url || "")) link.href = item.url; else link.removeAttribute("href");
  $("item-text").textContent = item.text || "";
  const when = (item.time || "").replace("T", " ").slice(0, 16);
  $("item-meta").textContent = [when, item.source, (item.tickers || []).join(", ")].filter(Boolean).join(" · ");
  $("model-sentiment").textContent = item.sentiment || "?";
  const probs = item.sentiment_probs || {};
  $("model-probs").textContent = `(neg ${pct(probs.negative)} / neu ${pct(probs.neutral)} / pos ${pct(probs.positive)})`;
  $("model-topic").textContent = item.topic || "?";
  $("model-topic-confidence").textContent = pct(item.topic_confidence);
  $("item-certainty").textContent = pct(item.certainty);
  const model = item.model || {};
  $("item-model").textContent = [model.name, model.version, model.hash ? `#${model.hash}` : null].filter(Boolean).join(" ");
  $("status").textContent = `item ${state.index + 1} of ${state.items.length} · ${state.saved} labelled this session`;
}

function showCounts(counts) {
  if (!counts) return;
  $("counts-total").textContent = `(${counts.total})`;
  const body = document.querySelector("#counts tbody");
  body.replaceChildren();
  const rows = [
    ...state.session.sentiments.map((name) => ["sentiment", name, counts.sentiment[name] || 0]),
    ...Object.entries(counts.topic).sort((a, b) => b[1] - a[1]).map(([name, n]) => ["topic", name, n]),
  ];
  for (const [head, name, n] of rows) {
    const row = body.insertRow();
    row.dataset.head = head;
    row.dataset.name = name;
    row.insertCell().textContent = head;
    row.insertCell().textContent = name;
    const cell = row.insertCell();
    cell.textContent = String(n);
    cell.className = "num";
  }
}

async function loadQueue() {
  document.body.dataset.state = "loading";
  const answer = await call(`api/review/queue?range=${encodeURIComponent(state.range)}`);
  state.items = answer.items.filter((item) => !state.skipped.has(item.id));
  state.index = 0;
  showCounts(answer.counts);
  showItem();
}

async function next() {
  state.index += 1;
  if (state.index >= state.items.length) await loadQueue(); else showItem();
}

async function save(sentiment, topic) {
  const item = current();
  if (!item || (!sentiment && !topic)) return;
  const labeller = $("labeller").value.trim() || null;
  const answer = await post("api/labels", { news_id: item.id, sentiment, topic, labeller });
  state.undo.push(item);
  state.saved += 1;
  document.body.dataset.saved = String(state.saved);
  showCounts(answer.counts);
  await next();
}

async function undo() {
  const item = state.undo.pop();
  if (!item) { report("nothing to undo"); return; }
  const answer = await post("api/labels/undo", { news_id: item.id });
  state.saved -= 1;
  document.body.dataset.saved = String(state.saved);
  showCounts(answer.counts);
  state.items.splice(state.index, 0, item);
  showItem();
}

function skip() {
  const item = current();
  if (!item) return Promise.resolve();
  state.skipped.add(item.id);
  return next();
}

function matchTopic(text) {
  const wanted = text.trim().toLowerCase();
  if (!wanted) return null;
  const topics = state.session.topics;
  const exact = topics.find((name) => name.toLowerCase() === wanted);
  if (exact) return exact;
  const starts = topics.filter((name) => name.toLowerCase().startsWith(wanted));
  if (starts.length === 1) return starts[0];
  const contains = topics.filter((name) => name.toLowerCase().includes(wanted));
  return contains.length === 1 ? contains[0] : (starts[0] || contains[0] || null);
}

function setTopic(name) {
  state.pendingTopic = name;
  $("pending-topic").textContent = name || "none";
}

const ACTIONS = {
  1: () => save(state.session.sentiments[0], state.pendingTopic),
  2: () => save(state.session.sentiments[1], state.pendingTopic),
  3: () => save(state.session.sentiments[2], state.pendingTopic),
  a: () => save(current()?.sentiment, current()?.topic),
  k: () => setTopic(current()?.topic || null),
  s: skip,
  u: undo,
  r: loadQueue,
  Enter: () => save(null, state.pendingTopic),
};

async function act(key) {
  if (state.busy || !state.session) return;
  state.busy = true;
  const button = document.querySelector(`#controls button[data-key="${key}"]`);
  button?.classList.add("flash");
  try {
    await ACTIONS[key]();
  } catch (error) {
    report(`error: ${error.message}`);
  } finally {
    state.busy = false;
    button?.classList.remove("flash");
  }
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target instanceof HTMLInputElement;
  if (typing) return;
  if (event.key === "t" || event.key === "/") { event.preventDefault(); $("topic").focus(); return; }
  const key = event.key === "Backspace" || event.key === "z" ? "u" : event.key;
  if (key in ACTIONS) { event.preventDefault(); act(key); }
}

function onTopicKey(event) {
  if (event.key === "Escape") { event.target.blur(); return; }
  if (event.key !== "Enter") return;
  event.preventDefault();
  const name = matchTopic(event.target.value);
  if (!name) { report(`no topic matches ${JSON.stringify(event.target.value)}`); return; }
  setTopic(name);
  event.target.value = name;
  event.target.blur();
}

function pickRange(range) {
  state.range = range;
  for (const button of document.querySelectorAll("#ranges button")) {
    button.classList.toggle("active", button.dataset.range === range);
  }
  return loadQueue();
}

async function start() {
  state.session = await call("api/review/session");
  const list = $("topics");
  for (const name of state.session.topics) {
    const option = document.createElement("option");
    option.value = name;
    list.appendChild(option);
  }
  if (!state.session.writable) report("this page is not served on loopback: labels cannot be stored from here");
  $("labeller").value = localStorage.getItem("finmon-labeller") || "";
  $("labeller").addEventListener("change", (event) => localStorage.setItem("finmon-labeller", event.target.value));
  $("labeller").addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === "Escape") event.target.blur(); });
  $("topic").addEventListener("keydown", onTopicKey);
  $("topic").addEventListener("input", (event) => { $("topic-match").textContent = matchTopic(event.target.value) ? `→ ${matchTopic(event.target.value)}` : ""; });
  for (const button of document.querySelectorAll("#controls button[data-key]")) {
    // blur: a focused button would also take the next Enter as a click
    button.addEventListener("click", () => { button.blur(); act(button.dataset.key); });
  }
  for (const button of document.querySelectorAll("#ranges button")) {
    button.addEventListener("click", () => {
      button.blur();
      pickRange(button.dataset.range).catch((error) => report(`error: ${error.message}`));
    });
  }
  document.addEventListener("keydown", onKey);
  await pickRange(new URLSearchParams(location.search).get("range") || state.session.range);
}

start().catch((error) => { report(`error: ${error.message}`); document.body.dataset.state = "failed"; });
