"""The server's page: plain HTML and inline JavaScript, served by lamina itself (no CDN, no
build step). It reads `GET /info` to learn what the model takes, then offers a drop zone and a
file chooser (images), a form of the model's columns (tables), user and item fields (ratings)
or a text box (text); `POST /predict` answers with the label and a bar per top probability.
"""

from __future__ import annotations

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lamina</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto;
         padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
  #about { color: #666; margin-top: 0; }
  #drop { border: 2px dashed #889; border-radius: 8px; padding: 2rem; text-align: center;
          cursor: pointer; }
  #drop.over { background: #eef; }
  #preview { width: 8rem; image-rendering: pixelated; display: none;
             margin: 1rem auto 0; }
  form label { display: block; margin: 0.3rem 0; }
  form input, textarea { width: 100%; box-sizing: border-box; padding: 0.3rem; }
  button { margin-top: 0.6rem; padding: 0.4rem 1.2rem; }
  #result { margin-top: 1.5rem; }
  #label { font-size: 2rem; font-weight: 600; }
  .bar { display: flex; align-items: center; margin: 0.2rem 0; }
  .bar .name { width: 8rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bar .track { flex: 1; background: #eee; height: 1.1rem; border-radius: 3px; }
  .bar .fill { background: #4a6fd8; height: 100%; border-radius: 3px; }
  .bar .value { width: 4rem; text-align: right; font-variant-numeric: tabular-nums; }
  #error { color: #b00020; }
</style>
</head>
<body>
<h1>lamina</h1>
<p id="about">loading the model's description...</p>
<div id="inputs"></div>
<div id="result" data-state="idle">
  <div id="label"></div>
  <div id="bars"></div>
  <div id="error"></div>
</div>
<script>
"use strict";
const inputs = document.getElementById("inputs");
const result = document.getElementById("result");

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function show(answer) {
  document.getElementById("error").textContent = "";
  document.getElementById("label").textContent =
    typeof answer.label === "number" ? answer.label.toFixed(3) : String(answer.label);
  const bars = document.getElementById("bars");
  bars.replaceChildren();
  for (const [name, prob] of answer.top || []) {
    const bar = element("div", {class: "bar"});
    bar.append(element("span", {class: "name"}, String(name)));
    const track = element("span", {class: "track"});
    const fill = element("span", {class: "fill"});
    fill.style.display = "block";
    fill.style.width = (100 * prob).toFixed(1) + "%";
    track.append(fill);
    bar.append(track, element("span", {class: "value"}, (100 * prob).toFixed(1) + "%"));
    bars.append(bar);
  }
  result.dataset.state = "done";
}

async function send(body, headers) {
  result.dataset.state = "busy";
  try {
    const response = await fetch("predict", {method: "POST", body: body, headers: headers});
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
    show(answer);
  } catch (error) {
    document.getElementById("label").textContent = "";
    document.getElementById("bars").replaceChildren();
    document.getElementById("error").textContent = String(error.message || error);
    result.dataset.state = "error";
  }
}

function sendJson(value) {
  return send(JSON.stringify(value), {"Content-Type": "application/json"});
}

function imageInputs() {
  const drop = element("div", {id: "drop"}, "Drop an image here, or click to choose one");
  const chooser = element("input", {id: "file", type: "file", accept: "image/*"});
  chooser.style.display = "none";
  const preview = element("img", {id: "preview", alt: "the chosen image"});
  const sendFile = (file) => {
    if (!file) return;
    preview.src = URL.createObjectURL(file);
    preview.style.display = "block";
    const form = new FormData();
    form.append("file", file);
    send(form);
  };
  drop.addEventListener("click", () => chooser.click());
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    sendFile(event.dataTransfer.files[0]);
  });
  chooser.addEventListener("change", () => sendFile(chooser.files[0]));
  inputs.append(drop, chooser, preview);
}

function fieldsForm(names, numeric, collect) {
  const form = element("form", {id: "row"});
  for (const name of names) {
    const label = element("label", {}, name);
    label.append(element("input", {name: name, type: numeric.has(name) ? "number" : "text",
                                   step: "any"}));
    form.append(label);
  }
  form.append(element("button", {type: "submit"}, "Predict"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendJson(collect(new FormData(form), numeric));
  });
  inputs.append(form);
}

function rowValues(data, numeric) {
  const row = {};
  for (const [name, value] of data.entries()) {
    if (value !== "") row[name] = numeric.has(name) ? Number(value) : value;
  }
  return row;
}

function textInputs() {
  const form = element("form", {id: "row"});
  form.append(element("textarea", {name: "text", rows: "6"}));
  form.append(element("button", {type: "submit"}, "Predict"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendJson({text: new FormData(form).get("text")});
  });
  inputs.append(form);
}

async function start() {
  const info = await (await fetch("info")).json();
  document.getElementById("about").textContent =
    `${info.application} model (${info.architecture})` +
    (info.classes ? `: ${info.classes.length} classes` : "");
  if (info.input_kind === "image") imageInputs();
  else if (info.input_kind === "row") {
    const columns = info.columns || {cat: [], cont: []};
    fieldsForm([...columns.cat, ...columns.cont], new Set(columns.cont), rowValues);
  } else if (info.input_kind === "pair") {
    fieldsForm(["user", "item"], new Set(), (data) => Object.fromEntries(data.entries()));
  } else textInputs();
  document.body.dataset.ready = "true";
}
start();
</script>
</body>
</html>
"""


def page_html() -> str:
    """The page's HTML (one string: its styles and script are inline)."""
    return _PAGE
