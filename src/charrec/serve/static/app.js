// The drawing pad: strokes on a canvas (Pointer Events: mouse, pen and touch alike),
// recognised by POST /v1/predict as you draw; uploads, pastes and drops go there too.
// Word mode widens the canvas for a word or a code and reads it with POST /v1/read.
"use strict";

const TOP_K = 5;
const DEBOUNCE_MS = 120;
const PEN_WIDTH = 18;

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const answer = document.getElementById("answer");
const topList = document.getElementById("top");
const seen = document.getElementById("seen");
const statusLine = document.getElementById("status");
const modelSelect = document.getElementById("model");
const wordMode = document.getElementById("word-mode");
const ttaBox = document.getElementById("tta");
// The server's own test-time augmentation policy, the one the box asks for when ticked.
let serverTta = null;
const seenRow = document.getElementById("seen-row");
// Canvas sizes (pixels) of the two modes: one character, or a line of them.
const SIZES = { char: [280, 280], word: [840, 240] };

let strokes = [];        // each stroke: a list of [x, y] points in canvas pixels
let current = null;      // the stroke being drawn
let background = null;   // an uploaded or pasted picture, drawn under the strokes
let timer = null;
let inFlight = null;     // AbortController of the request on its way
let sequence = 0;        // answers to older requests are dropped

// body[data-pending] is "1" from a change until its answer is shown (tests wait on it).
function setPending(pending) {
  document.body.dataset.pending = pending ? "1" : "0";
}

function redraw() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (background) {
    const scale = Math.min(canvas.width / background.width, canvas.height / background.height);
    const w = background.width * scale, h = background.height * scale;
    ctx.drawImage(background, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
  }
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = penWidth();
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of strokes) {
    if (stroke.length === 1) {  // a dot
      ctx.beginPath();
      ctx.arc(stroke[0][0], stroke[0][1], penWidth() / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    for (const [x, y] of stroke.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

function reading() {
  return wordMode.checked;
}

// Characters in a word are drawn smaller than a lone one: a thinner pen keeps them apart.
function penWidth() {
  return reading() ? 12 : PEN_WIDTH;
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [
    (event.clientX - box.left) * (canvas.width / box.width),
    (event.clientY - box.top) * (canvas.height / box.height),
  ];
}

canvas.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  canvas.setPointerCapture(event.pointerId);
  current = [point(event)];
  strokes.push(current);
  redraw();
  event.preventDefault();
});

canvas.addEventListener("pointermove", (event) => {
  if (!current) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) current.push(point(e));
  redraw();
  schedule();
});

function endStroke() {
  if (!current) return;
  current = null;
  schedule(0);
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

function schedule(delay = DEBOUNCE_MS) {
  clearTimeout(timer);
  setPending(true);
  timer = setTimeout(() => {
    timer = null;
    recogniseCanvas();
  }, delay);
}

function isEmpty() {
  return strokes.length === 0 && !background;
}

function recogniseCanvas() {
  if (isEmpty()) return showNothing();
  canvas.toBlob((blob) => send(blob, "drawing.png"), "image/png");
}

async function send(blob, name) {
  if (inFlight) inFlight.abort();
  const controller = new AbortController();
  inFlight = controller;
  const mine = ++sequence;
  setPending(true);
  const form = new FormData();
  form.append("file", blob, name);
  const query = new URLSearchParams({ top_k: String(TOP_K), seen: "true" });
  if (modelSelect.value) query.set("model", modelSelect.value);
  query.set("tta", ttaBox.checked ? serverTta || "affine" : "none");
  statusLine.textContent = "recognising…";
  statusLine.className = "";
  try {
    const path = reading() ? "/v1/read" : "/v1/predict";
    const response = await fetch(`${path}?${query}`, {
      method: "POST", body: form, signal: controller.signal,
    });
    const data = await response.json();
    if (mine !== sequence) return;
    if (!response.ok) showError(data.error || { message: response.statusText });
    else if (reading()) showReading(data);
    else showPrediction(data);
  } catch (error) {
    if (error.name !== "AbortError" && mine === sequence) showError({ message: String(error) });
  }
  if (mine === sequence && !timer) setPending(false);
}

function showPrediction(data) {
  answer.textContent = data.label;
  showBars(data.top);
  if (data.seen) seen.src = data.seen;
  statusLine.textContent = `${data.model}: ${data.label} (${(data.probability * 100).toFixed(1)}%)`;
  if (data.merged && data.merged.case) statusLine.textContent += caseText(data.merged);
  statusLine.className = "";
}

// A model that keeps the cases apart: the letter with both cases summed, and its case.
function caseText({ label, probability, case: letterCase, case_probability: share }) {
  const percent = (p) => `${(p * 100).toFixed(1)}%`;
  return `; letter ${label} (${percent(probability)}), ${letterCase} case (${percent(share)})`;
}

// A line read: the text, each character's answer with its confidence, and its 28×28 input.
function showReading(data) {
  answer.textContent = data.text;
  showBars(data.characters.map((c) => ({ label: c.label, probability: c.confidence })));
  seenRow.replaceChildren(...data.characters.map(seenCharacter));
  const confidence = (data.confidence * 100).toFixed(1);
  statusLine.textContent = `${data.model}: ${data.text} (${confidence}% for the whole line)`;
  statusLine.className = "";
}

// One character of a line: the 28×28 input the model saw and, for a model that keeps
// upper and lower case apart, the case it chose with that case's share of the letter.
function seenCharacter(c) {
  const figure = document.createElement("figure");
  const image = document.createElement("img");
  image.src = c.seen;
  image.width = 56;
  image.height = 56;
  image.alt = `character read as ${c.label}`;
  figure.append(image);
  if (c.merged && c.merged.case) {
    const caption = document.createElement("figcaption");
    caption.textContent = `${c.merged.case} ${(c.merged.case_probability * 100).toFixed(0)}%`;
    caption.title = `letter ${c.merged.label} (${(c.merged.probability * 100).toFixed(1)}%)`;
    figure.append(caption);
  }
  return figure;
}

function showBars(rows) {
  topList.replaceChildren(...rows.map(({ label, probability }) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = label;
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${(probability * 100).toFixed(1)}%`;
    bar.append(fill);
    const p = document.createElement("span");
    p.className = "p";
    p.textContent = `${(probability * 100).toFixed(1)}%`;
    item.append(name, bar, p);
    return item;
  }));
}

function showNothing() {
  if (!timer) setPending(false);
  answer.textContent = "?";
  topList.replaceChildren();
  seenRow.replaceChildren();
  seen.removeAttribute("src");
  statusLine.textContent = "";
}

function showError(error) {
  showNothing();
  statusLine.textContent = error.code === "blank_image"
    ? (reading()
      ? "No characters found: write a word."
      : "No character found: draw a bigger or darker one.")
    : error.message;
  statusLine.className = "error";
}

function undo() {
  if (strokes.length) strokes.pop();
  else background = null;
  redraw();
  schedule(0);
}

function clearAll() {
  strokes = [];
  background = null;
  redraw();
  clearTimeout(timer);
  timer = null;
  if (inFlight) inFlight.abort();
  sequence++;
  showNothing();
}

// Pictures from a file, the clipboard or a drop: shown on the pad, sent as they are.
function usePicture(file) {
  if (!file || !file.type.startsWith("image/")) {
    return showError({ message: "That is not an image." });
  }
  const url = URL.createObjectURL(file);
  const picture = new Image();
  picture.onload = () => {
    strokes = [];
    background = picture;
    redraw();
    URL.revokeObjectURL(url);
  };
  picture.onerror = () => URL.revokeObjectURL(url);
  picture.src = url;
  clearTimeout(timer);
  timer = null;
  send(file, file.name || "pasted.png");
}

document.getElementById("undo").addEventListener("click", undo);
document.getElementById("clear").addEventListener("click", clearAll);
document.getElementById("file").addEventListener("change", (event) => {
  usePicture(event.target.files[0]);
  event.target.value = "";
});
document.addEventListener("paste", (event) => {
  const item = [...(event.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
  if (item) {
    usePicture(item.getAsFile());
    event.preventDefault();
  }
});
canvas.addEventListener("dragover", (event) => {
  event.preventDefault();
  canvas.classList.add("dragging");
});
canvas.addEventListener("dragleave", () => canvas.classList.remove("dragging"));
canvas.addEventListener("drop", (event) => {
  event.preventDefault();
  canvas.classList.remove("dragging");
  usePicture(event.dataTransfer.files[0]);
});
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "z") {
    undo();
    event.preventDefault();
  } else if (event.key === "Escape") {
    clearAll();
  }
});
modelSelect.addEventListener("change", () => (isEmpty() ? null : recogniseCanvas()));
ttaBox.addEventListener("change", () => (isEmpty() ? null : recogniseCanvas()));

// Switching modes resizes the canvas and starts afresh.
function setMode() {
  const [width, height] = SIZES[reading() ? "word" : "char"];
  canvas.width = width;
  canvas.height = height;
  document.body.classList.toggle("wide", reading());
  clearAll();
}
wordMode.addEventListener("change", setMode);

async function loadModels() {
  try {
    const response = await fetch("/v1/models");
    const data = await response.json();
    serverTta = data.models[0] ? data.models[0].tta : null;
    ttaBox.checked = Boolean(serverTta);
    modelSelect.replaceChildren(...data.models.map((model) => {
      const option = document.createElement("option");
      option.value = model.name;
      option.textContent = `${model.name} (${model.classes.length} classes)`;
      option.selected = model.name === data.default;
      return option;
    }));
  } catch (error) {
    showError({ message: `cannot list the models: ${error}` });
  }
}

setPending(false);
redraw();
loadModels();
