// Huddle admin dashboard: reads /admin/events (Server-Sent Events, one
// JSON snapshot a second), keeps a short history of each figure and draws
// it on canvases; ends meetings and removes participants with same-origin
// POSTs. No framework, no chart library.
"use strict";

const HISTORY = 90; // points kept per chart
const MIN_SPAN = 20; // points a chart's width stands for, at least
const series = new Map(); // key -> number[]
const $ = (sel, root = document) => root.querySelector(sel);

function push(key, value) {
  let s = series.get(key);
  if (!s) series.set(key, (s = []));
  s.push(Number.isFinite(value) ? value : 0);
  if (s.length > HISTORY) s.shift();
  return s;
}

// drawChart draws values as a filled line, scaled to the largest value
// (or floor, so that a quiet figure does not look busy).
function drawChart(canvas, lines, floor = 1) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const top = Math.max(floor, ...lines.flatMap((l) => l.values)) * 1.15;
  // A faint baseline, so that an idle chart still reads as a chart.
  ctx.fillStyle = "#e3e5e8";
  ctx.fillRect(0, h - 1, w, 1);
  // The newest point is at the right edge; a short history is spread over
  // at least MIN_SPAN points rather than squeezed into a sliver.
  const span = Math.max(MIN_SPAN, ...lines.map((l) => l.values.length)) - 1;
  for (const { values, color } of lines) {
    if (values.length < 2) continue;
    const step = w / span;
    const x0 = w - (values.length - 1) * step;
    const y = (v) => h - 1 - (v / top) * (h - 3);
    ctx.beginPath();
    values.forEach((v, i) => (i ? ctx.lineTo(x0 + i * step, y(v)) : ctx.moveTo(x0, y(v))));
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.6;
    ctx.stroke();
    ctx.lineTo(w, h);
    ctx.lineTo(x0, h);
    ctx.closePath();
    ctx.fillStyle = color + "22";
    ctx.fill();
  }
}

const fmt = {
  bytes(n) {
    const u = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) (n /= 1024), i++;
    return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
  },
  bits(n) {
    if (n == null) return "–";
    if (n >= 1e6) return `${(n / 1e6).toFixed(2)} Mb/s`;
    return `${Math.round(n / 1e3)} kb/s`;
  },
  pct(n) {
    return n == null ? "–" : `${(n * 100).toFixed(1)} %`;
  },
  ms(n) {
    return n == null ? "–" : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
  },
};

function setCard(metric, text, value, color, floor) {
  const card = $(`.card[data-metric="${metric}"]`);
  $(".value", card).textContent = text;
  drawChart($("canvas", card), [{ values: push(`card:${metric}`, value), color }], floor);
}

function renderServer(s) {
  const srv = s.server;
  setCard("participants", String(s.participants), s.participants, "#1a73e8", 4);
  setCard("cpu", srv.cpu < 0 ? "–" : `${srv.cpu.toFixed(1)} %`, Math.max(0, srv.cpu), "#e37400", 10);
  setCard("memory", fmt.bytes(srv.memory), srv.memory, "#9334e6", 64 << 20);
  setCard("goroutines", String(srv.goroutines), srv.goroutines, "#12b5cb", 50);
  setCard("sockets", `${srv.websocket + srv.polling}`, srv.websocket + srv.polling, "#1a73e8", 4);
  $('.card[data-metric="sockets"] .value').append(el("small", {}, ` ${srv.websocket} ws · ${srv.polling} polling`));
  setCard("files", srv.files < 0 ? "–" : String(srv.files), Math.max(0, srv.files), "#5f6368", 50);
  const relay = $('.card[data-metric="relay"]');
  relay.hidden = !s.relay;
  if (s.relay) {
    setCard("relay", String(s.relay.allocations), s.relay.allocations, "#188038", 4);
    $(".value", relay).append(el("small", {}, ` ${fmt.bits(s.relay.bitrate)}`));
  }
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

async function post(path, what) {
  $("#error").textContent = "";
  const res = await fetch(path, { method: "POST", credentials: "same-origin" });
  if (res.status === 401) return location.reload();
  if (!res.ok) {
    let msg = `${res.status}`;
    try {
      msg = (await res.json()).error.message;
    } catch {}
    $("#error").textContent = `Could not ${what}: ${msg}`;
  }
}

const enc = encodeURIComponent;

function roomElement(room) {
  const end = el("button", { class: "danger", type: "button" }, "End meeting");
  end.addEventListener("click", () => {
    if (confirm(`End the meeting ${room.id} for everyone in it?`)) post(`/admin/rooms/${enc(room.id)}/end`, "end the meeting");
  });
  end.setAttribute("aria-label", `End meeting ${room.id}`);
  const head = el("div", { class: "room-head" },
    el("span", { class: "id" }, room.id), el("span", { class: "pill media" }), el("span", { class: "pill muted count" }),
    el("span", { class: "pill muted waiting" }), el("span", { class: "spacer" }), end);
  const table = el("table", {},
    el("thead", {}, el("tr", {}, ...["Name", "Media", "Path", "Up", "Down", "Loss", "RTT"].map((t, i) =>
      el("th", i >= 3 ? { class: "num" } : {}, t)),
      el("th", {}, el("span", { class: "key-up" }, "up"), " / ", el("span", { class: "key-down" }, "down")), el("th"))),
    el("tbody"));
  return el("article", { class: "room", "data-room": room.id }, head, table);
}

function participantRow(room, p) {
  const remove = el("button", { class: "danger", type: "button", "aria-label": `Remove ${p.name}` }, "Remove");
  remove.addEventListener("click", () => {
    if (confirm(`Remove ${p.name} from ${room}?`)) post(`/admin/rooms/${enc(room)}/participants/${enc(p.id)}/remove`, `remove ${p.name}`);
  });
  return el("tr", { "data-participant": p.id },
    el("td", { class: "name" }), el("td", { class: "media-state" }), el("td", { class: "path" }),
    el("td", { class: "num up" }), el("td", { class: "num down" }), el("td", { class: "num loss" }), el("td", { class: "num rtt" }),
    el("td", {}, el("canvas", { "aria-hidden": "true" })), el("td", {}, remove));
}

function badge(on, label) {
  return el("span", { class: on ? "" : "off", title: `${label} ${on ? "on" : "off"}` }, label);
}

function updateRow(tr, room, p) {
  $(".name", tr).textContent = p.name + (p.host ? " (host)" : "") + (p.role && p.role !== "host" && p.role !== "guest" ? ` · ${p.role}` : "");
  $(".media-state", tr).replaceChildren(el("span", { class: "state" }, badge(p.audio, "mic"), badge(p.video, "cam"), badge(p.screen, "screen")));
  $(".path", tr).textContent = p.path;
  $(".up", tr).textContent = fmt.bits(p.up);
  $(".down", tr).textContent = fmt.bits(p.down);
  const loss = $(".loss", tr);
  loss.textContent = fmt.pct(p.loss);
  loss.className = `num loss ${p.loss > 0.05 ? "bad" : p.loss > 0.01 ? "warn" : ""}`;
  const rtt = $(".rtt", tr);
  rtt.textContent = fmt.ms(p.rtt);
  rtt.className = `num rtt ${p.rtt > 300 ? "bad" : p.rtt > 150 ? "warn" : ""}`;
  const key = `${room}/${p.id}`;
  drawChart($("canvas", tr), [
    { values: push(`up:${key}`, p.up ?? 0), color: "#1a73e8" },
    { values: push(`down:${key}`, p.down ?? 0), color: "#188038" },
  ], 64e3);
}

function renderRooms(rooms) {
  const box = $("#rooms");
  if (!rooms.length) {
    box.replaceChildren(el("p", { class: "empty" }, "No meetings right now."));
    return;
  }
  const existing = new Map([...box.querySelectorAll("article.room")].map((a) => [a.dataset.room, a]));
  const order = [];
  for (const room of rooms) {
    const art = existing.get(room.id) ?? roomElement(room);
    existing.delete(room.id);
    order.push(art);
    const media = $(".media", art);
    media.textContent = room.media === "sfu" ? "through the server (SFU)" : "peer to peer (mesh)";
    media.classList.toggle("sfu", room.media === "sfu");
    $(".count", art).textContent = `${room.participants.length} in the meeting`;
    const waiting = $(".waiting", art);
    waiting.textContent = `${room.waiting} waiting`;
    waiting.hidden = !room.waiting;
    const body = $("tbody", art);
    const rows = new Map([...body.children].map((tr) => [tr.dataset.participant, tr]));
    const next = room.participants.map((p) => {
      const tr = rows.get(p.id) ?? participantRow(room.id, p);
      rows.delete(p.id);
      return [tr, p];
    });
    body.replaceChildren(...next.map(([tr]) => tr));
    for (const [tr, p] of next) updateRow(tr, room.id, p);
    for (const id of rows.keys()) (series.delete(`up:${room.id}/${id}`), series.delete(`down:${room.id}/${id}`));
  }
  box.replaceChildren(...order);
}

let snapshots = 0;

function render(s) {
  // Counted on the page for tests that wait for some history.
  document.body.dataset.snapshots = String(++snapshots);
  renderServer(s);
  renderRooms(s.rooms);
  const live = $("#live");
  live.textContent = `Live · ${new Date(s.time).toLocaleTimeString()}`;
  live.classList.add("on");
}

function connect() {
  const es = new EventSource("/admin/events");
  es.addEventListener("snapshot", (e) => render(JSON.parse(e.data)));
  es.addEventListener("error", async () => {
    const live = $("#live");
    live.textContent = "Reconnecting…";
    live.classList.remove("on");
    // A session that ended gets the login form back.
    const res = await fetch("/admin/snapshot", { credentials: "same-origin" }).catch(() => null);
    if (res && res.status === 401) location.reload();
  });
}

connect();
