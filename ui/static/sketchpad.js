// The Draw tab's canvas and its answer. Runs as the `js_on_load` of a gr.HTML, which provides
// `element` (the component's root), `props` (its value and props), `trigger` (fires one of its
// events), `watch` (runs a callback when Python updates a prop) and `server` (its server
// functions: draw_tab.read_drawing).
//
// The canvas is wider than tall (3:2), room for a number of a few digits. Strokes are kept as
// points in canvas units (0..1 across, 0..1 down) and painted with a round brush through
// quadratic curves, so they look like ink at any size. While a stroke is drawn (at most every
// LIVE_EVERY_MS), and at once when it ends, the drawing is rendered into a small PNG (black ink
// on white, the canvas's shape) and sent to draw_tab.read_drawing, whose answer this script shows in #prediction: the
// fast path. After a stroke, Undo or Clear, the PNG also becomes this component's value and a
// "stroke_end" event updates the rest of the tab (confidences, the 28x28 image, every network).
//
// When Python reads an uploaded photo instead (props.photo is set), the canvas is cleared and
// says that the photo is being read, until the user draws again.
const canvas = element.querySelector("#sketchpad");
const answer = element.querySelector("#prediction");
const photoNote = element.querySelector(".photo-note");
const boxLayer = element.querySelector(".box-layer");
const ctx = canvas.getContext("2d");
const SEND_HEIGHT = 112; // height in px of the PNG sent to Python (4 x MNIST's 28); its width follows the canvas
const BRUSH = 1 / 14; // brush width as a fraction of the canvas's height
const LIVE_EVERY_MS = 100; // at most one update per this many ms while drawing
const INK = "#111";

const RETRIES = 2; // a request that fails (a dropped connection, a busy server) is sent again this often
const PATIENCE_MS = 15000; // a request unanswered this long counts as failed (and is sent again)
const ASK_AGAIN_MS = 2000; // after every try failed ("No answer"), the drawing is asked for again this much later
const NO_ANSWER = '<div class="digit">?</div><div class="detail">No answer: is the server up?</div>';

const strokes = []; // [[x, y], ...] per stroke, x and y in 0..1
let stroke = null; // the stroke being drawn, if any
let lastSent = 0;
let asked = 0; // number of the latest request
let shown = 0; // number of the request whose answer is on show: an older answer arriving late is dropped
let strokesBegun = 0; // strokes begun since the page loaded
let photoChosenAt = null; // strokesBegun when a photo was chosen, until its reading comes (see photoChosen)
let drawingIsNewer = false; // the photo on the server was chosen before the drawing on the canvas was begun

function paint(c, width, height, background) {
  c.fillStyle = background;
  c.fillRect(0, 0, width, height);
  c.strokeStyle = INK;
  c.lineWidth = BRUSH * height;
  c.lineCap = "round";
  c.lineJoin = "round";
  for (const points of strokes) {
    const p = points.map(([x, y]) => [x * width, y * height]);
    c.beginPath();
    c.moveTo(p[0][0], p[0][1]);
    if (p.length === 1) c.lineTo(p[0][0] + 0.01, p[0][1]); // a dot
    for (let i = 1; i < p.length - 1; i++) {
      // curve through each point towards the midpoint of the next segment
      c.quadraticCurveTo(p[i][0], p[i][1], (p[i][0] + p[i + 1][0]) / 2, (p[i][1] + p[i + 1][1]) / 2);
    }
    if (p.length > 1) c.lineTo(p[p.length - 1][0], p[p.length - 1][1]);
    c.stroke();
  }
}

let frame = 0;
function repaint() {
  cancelAnimationFrame(frame);
  frame = requestAnimationFrame(() => paint(ctx, canvas.width, canvas.height, "#fff"));
}
// Undo and Clear are single clicks: paint at once, so the canvas never shows strokes the
// answer no longer counts (pointer moves are many per frame, hence repaint() for them).
function paintNow() {
  cancelAnimationFrame(frame);
  paint(ctx, canvas.width, canvas.height, "#fff");
}

function show(html) {
  answer.innerHTML = html;
  drawBoxes();
}
// For a number, the answer holds each digit's box (shares of the canvas) and reading: each is
// drawn over the canvas, with its digit above it.
function drawBoxes() {
  const data = answer.querySelector(".boxes");
  const boxes = data ? JSON.parse(data.dataset.boxes || "[]") : [];
  boxLayer.replaceChildren(...boxes.map(([x0, y0, x1, y1, label]) => {
    const box = document.createElement("div");
    box.className = "digit-box";
    box.dataset.label = label;
    Object.assign(box.style, {
      left: `${x0 * 100}%`, top: `${y0 * 100}%`, width: `${(x1 - x0) * 100}%`, height: `${(y1 - y0) * 100}%`,
    });
    return box;
  }));
}
// While the answer on show is not yet the one for the latest drawing, it is dimmed (draw.css).
function markPending() {
  answer.classList.toggle("pending", shown < asked);
}
// An answer from Python (a photo, another network). For a photo or an empty canvas it is shown,
// and answers still on their way from read_drawing are dropped. For a drawing, Python's answer
// may be for the drawing as it was when the event began: the drawing as it is now is asked
// again, with the network now chosen.
show(props.answer);
watch("answer_id", () => {
  if (props.photo) photoRead();
  if ((props.photo && !drawingIsNewer) || (strokes.length === 0 && !stroke)) {
    shown = asked;
    markPending();
    show(props.answer);
  } else {
    // For a drawing begun after the photo was chosen, once its stroke has ended, the rest of the
    // tab follows too: the drawing becomes the page's image, and the photo goes (read_canvas).
    send(drawingIsNewer && !stroke);
  }
});

// A photo's reading has come: the drawing goes, and the canvas says so until the next stroke. But
// on a busy server the reading can come seconds after the photo was chosen (it waits in the
// queue), and a drawing begun meanwhile (and still on the canvas) is newer: it stays, and is read
// instead.
function photoRead() {
  const drawnSince = photoChosenAt !== null && strokesBegun > photoChosenAt && strokes.length > 0;
  drawingIsNewer = drawingIsNewer || drawnSince;
  photoChosenAt = null;
  if (!drawingIsNewer) {
    strokes.length = 0;
    stroke = null;
    paintNow();
    props.value = "";
  }
  readingPhoto(!drawingIsNewer);
}
function readingPhoto(on) {
  photoNote.hidden = !on;
  canvas.classList.toggle("not-read", on);
}
watch("photo", () => {
  if (!props.photo) drawingIsNewer = false;
  readingPhoto(Boolean(props.photo) && !drawingIsNewer);
});
readingPhoto(Boolean(props.photo));
// Called by the upload's event in the page, before the photo is sent to be read (draw_tab.PHOTO_CHOSEN).
canvas.photoChosen = () => {
  photoChosenAt = strokesBegun;
  drawingIsNewer = false;
};

// Runs `f` once the next frame is painted: the rest of the tab (Gradio's re-rendering of this
// component and of the outputs) must not delay the frame that shows the answer.
function afterPaint(f) {
  requestAnimationFrame(() => setTimeout(f, 0));
}

// The drawing as the PNG Python reads ("" when the canvas is empty). Keep this drawing calls it at
// its click (draw_tab.KEEP_ON_SHOW): the component's value follows a stroke only once its answer is painted.
const small = document.createElement("canvas");
function drawingNow() {
  if (strokes.length === 0) return "";
  small.height = SEND_HEIGHT;
  small.width = Math.round(SEND_HEIGHT * (canvas.clientWidth / canvas.clientHeight || 1));
  paint(small.getContext("2d"), small.width, small.height, "#fff");
  return small.toDataURL("image/png");
}
canvas.drawingNow = drawingNow;

function send(strokeEnded) {
  lastSent = performance.now();
  const image = drawingNow();
  const id = ++asked;
  markPending();
  ask(image, props.model_id)
    .then((html) => {
      // A newer answer than the one on show is shown even if a still newer request is out: on a
      // slow connection the page then follows the pen, and never keeps an answer (such as the
      // "?" of a cleared canvas) for a drawing that is no longer there.
      if (id > shown) {
        shown = id;
        show(html);
        markPending();
      }
    })
    .catch(() => {
      if (id === asked) {
        shown = id;
        show(NO_ANSWER);
        markPending();
        // The page never gives up on the drawing on show: it asks again until an answer comes
        // (a server restarting, a page whose connection is not ready yet, a network back).
        setTimeout(() => { if (id === asked) send(strokeEnded); }, ASK_AGAIN_MS);
      }
    })
    .finally(() => afterPaint(() => {
      // The rest of the tab follows once the stroke has ended, and only for the latest drawing:
      // updating it while drawing competes with the answers for the CPU, and on 2 cores that
      // delays the answer at the stroke's end (see benchmarks/draw_latency.py).
      if (id !== asked || !strokeEnded) return;
      props.value = image;
      trigger("stroke_end");
    }));
}

// draw_tab.read_drawing's answer (HTML) for one drawing, asked again when a request fails.
// Gradio's server-function call does not reject when the request fails: it logs the error and
// gives undefined, so anything but a string counts as a failure; so does no answer at all
// within PATIENCE_MS (a request lost on its way must not leave the page waiting for ever).
async function ask(image, model) {
  for (let attempt = 0; ; attempt++) {
    let html;
    try {
      const late = new Promise((resolve) => setTimeout(() => resolve(undefined), PATIENCE_MS));
      html = await Promise.race([server.read_drawing({ image: image, model: model }), late]);
    } catch (error) {
      html = undefined;
    }
    if (typeof html === "string") return html;
    if (attempt >= RETRIES) throw new Error("no answer from read_drawing");
  }
}

function point(e) {
  const r = canvas.getBoundingClientRect();
  return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
}

canvas.addEventListener("pointerdown", (e) => {
  if (e.button !== 0) return;
  stroke = [point(e)];
  strokes.push(stroke);
  strokesBegun++;
  repaint();
  readingPhoto(false); // from this stroke's end, the drawing is what the page reads
  try {
    canvas.setPointerCapture(e.pointerId); // the stroke goes on outside the canvas
  } catch (error) {
    // a pointer the browser no longer tracks: the stroke is drawn all the same
  }
});
canvas.addEventListener("pointermove", (e) => {
  if (!stroke) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
  for (const ev of events.length ? events : [e]) stroke.push(point(ev));
  repaint();
  if (performance.now() - lastSent >= LIVE_EVERY_MS) send(false);
});
function end() {
  if (!stroke) return;
  stroke = null;
  send(true);
}
canvas.addEventListener("pointerup", end);
canvas.addEventListener("pointercancel", end);

// The tools' words in the browser's language, as Gradio chooses the page's (see texts.py).
if ((navigator.language || "").toLowerCase().startsWith("zh")) {
  element.querySelector(".undo").textContent = "撤销";
  element.querySelector(".clear").textContent = "清除";
  canvas.setAttribute("aria-label", "用鼠标或手指在这里写一个数字");
  element.querySelector(".photo-note").innerHTML = "正在识别下面的照片。<br>在这里写字，改为识别手写。";
}

element.querySelector(".undo").addEventListener("click", () => {
  strokes.pop();
  paintNow();
  send(true);
});
element.querySelector(".clear").addEventListener("click", () => {
  strokes.length = 0;
  paintNow();
  send(true);
});

// Keep the canvas sharp at any size and pixel density (the page is responsive).
new ResizeObserver(() => {
  const scale = window.devicePixelRatio || 1;
  const width = Math.round(canvas.clientWidth * scale), height = Math.round(canvas.clientHeight * scale);
  if (width > 0 && height > 0 && (width !== canvas.width || height !== canvas.height)) {
    canvas.width = width;
    canvas.height = height;
    paint(ctx, width, height, "#fff");
  }
}).observe(canvas);

// Ready: drawing is heard from now on (tests, and the cursor, wait for this).
canvas.dataset.ready = "true";
