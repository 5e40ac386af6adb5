// The benchmark baseline: the seeds' Node.js signaling server on socket.io
// 4.8.4 (default settings), implementing the benchmarked subset of
// docs/PROTOCOL.md the way Huddle does: both dialects, the same validation,
// the same acks and error codes. No reconnect grace, host controls beyond the
// host id, or TURN credentials: those are not on the benchmarked paths.
//
//   node bench/reference/server.mjs --port 8080 [--host 127.0.0.1]
//     [--max-participants 8] [--max-rooms 10000] [--max-event-bytes 65536]
//     [--events-per-second 50] [--event-burst 200]
import http from "node:http";
import { parseArgs } from "node:util";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";

const { values: flags } = parseArgs({
  options: {
    port: { type: "string", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
    "max-participants": { type: "string", default: "8" },
    "max-rooms": { type: "string", default: "10000" },
    "max-name-len": { type: "string", default: "64" },
    "max-chat-len": { type: "string", default: "2000" },
    "chat-history": { type: "string", default: "200" },
    "max-event-bytes": { type: "string", default: "65536" },
    "events-per-second": { type: "string", default: "50" },
    "event-burst": { type: "string", default: "200" },
  },
});
const limits = {
  participants: Number(flags["max-participants"]),
  rooms: Number(flags["max-rooms"]),
  nameLen: Number(flags["max-name-len"]),
  chatLen: Number(flags["max-chat-len"]),
  chatHistory: Number(flags["chat-history"]),
  eventBytes: Number(flags["max-event-bytes"]),
  rate: Number(flags["events-per-second"]),
  burst: Number(flags["event-burst"]),
};
for (const [k, v] of Object.entries(limits)) {
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`bad value for limit ${k}: ${v}`);
    process.exit(2);
  }
}

const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

class SignalingError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}
const fail = (code, message) => {
  throw new SignalingError(code, message);
};

/** room id -> {id, host, members: Map<socketId, participant>, chat: []} */
const rooms = new Map();

const httpServer = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.end("ok\n");
    return;
  }
  res.statusCode = 404;
  res.end();
});
const io = new Server(httpServer);

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function checkRoom(room) {
  if (typeof room !== "string" || !ROOM_RE.test(room)) fail("invalid-room", "room id must be 1-64 of A-Za-z0-9-_");
  return room;
}

function checkName(name) {
  if (name === undefined || name === null) return "Guest";
  if (typeof name !== "string") fail("invalid-name", "name must be a string");
  const n = name.trim();
  if (n.length === 0 || [...n].length > limits.nameLen || CONTROL_RE.test(n)) fail("invalid-name", "name is empty, too long or has control characters");
  return n;
}

function publicPeer(p) {
  return { id: p.id, name: p.name, audio: p.audio, video: p.video, screen: p.screen, recording: p.recording };
}

/** Tells the others in a room about p, each in its own dialect. */
function announceJoin(room, p) {
  for (const other of room.members.values()) {
    if (other.id === p.id) continue;
    if (other.dialect === "A") other.socket.emit("user-joined", publicPeer(p));
    else other.socket.emit("user:joined", { email: p.name, id: p.id });
  }
}

function enterRoom(socket, roomId, name, dialect) {
  leaveRoom(socket);
  let room = rooms.get(roomId);
  if (!room) {
    if (rooms.size >= limits.rooms) fail("too-many-rooms", "the server has too many rooms");
    room = { id: roomId, host: socket.id, members: new Map(), chat: [] };
    rooms.set(roomId, room);
  } else if (room.members.size >= limits.participants) {
    fail("room-full", "the room is full");
  }
  const p = { id: socket.id, name, dialect, socket, audio: true, video: true, screen: false, recording: false };
  room.members.set(socket.id, p);
  socket.data.room = room;
  socket.data.participant = p;
  announceJoin(room, p);
  return { room, p };
}

function leaveRoom(socket) {
  const room = socket.data.room;
  if (!room) return;
  room.members.delete(socket.id);
  socket.data.room = undefined;
  socket.data.participant = undefined;
  if (room.members.size === 0) {
    rooms.delete(room.id);
    return;
  }
  for (const other of room.members.values()) {
    other.socket.emit(other.dialect === "A" ? "user-left" : "user:left", { id: socket.id });
  }
  if (room.host === socket.id) {
    room.host = room.members.keys().next().value;
    for (const other of room.members.values()) other.socket.emit("host-changed", { id: room.host });
  }
}

/** The same-room peer a relay event is addressed to. */
function peerOf(socket, payload, field) {
  if (!isObject(payload) || typeof payload.to !== "string" || !(field in payload)) fail("bad-request", `want {to, ${field}}`);
  const room = socket.data.room;
  if (!room) fail("not-in-room", "join a room first");
  const peer = room.members.get(payload.to);
  if (!peer || payload.to === socket.id) fail("unknown-peer", "no such participant in this room");
  return peer;
}

function relay(inField, outEvent, outField = inField) {
  return (socket, payload) => {
    const peer = peerOf(socket, payload, inField);
    peer.socket.emit(outEvent, { from: socket.id, [outField]: payload[inField] });
    return { ok: true };
  };
}

const handlers = {
  "join-room"(socket, payload) {
    let roomId, name;
    if (typeof payload === "string") roomId = payload;
    else if (isObject(payload)) ({ room: roomId, name } = payload);
    else fail("bad-request", "want a room id or {room, name}");
    checkRoom(roomId);
    name = checkName(name);
    const { room } = enterRoom(socket, roomId, name, "A");
    return {
      ok: true,
      id: socket.id,
      room: room.id,
      name,
      host: room.host,
      resumeToken: randomUUID(),
      peers: [...room.members.values()].filter((o) => o.id !== socket.id).map(publicPeer),
      chat: room.chat,
      settings: { locked: false, hasPassword: false, waitingRoom: false },
      iceServers: [],
      iceTransportPolicy: "all",
    };
  },
  "leave-room"(socket) {
    leaveRoom(socket);
    return { ok: true };
  },
  offer: relay("offer", "offer"),
  answer: relay("answer", "answer"),
  "ice-candidate": relay("candidate", "ice-candidate"),
  "chat-message"(socket, payload) {
    if (!isObject(payload) || typeof payload.text !== "string") fail("bad-request", "want {text}");
    const room = socket.data.room;
    if (!room) fail("not-in-room", "join a room first");
    const text = payload.text.trim();
    if (text.length === 0) fail("bad-request", "empty chat message");
    if ([...text].length > limits.chatLen) fail("too-large", "chat message too long");
    const msg = { id: randomUUID(), from: socket.id, name: socket.data.participant.name, text, ts: Date.now() };
    room.chat.push(msg);
    if (room.chat.length > limits.chatHistory) room.chat.shift();
    for (const p of room.members.values()) p.socket.emit("chat-message", msg);
    return { ok: true, id: msg.id, ts: msg.ts };
  },
  "media-state"(socket, payload) {
    if (!isObject(payload)) fail("bad-request", "want {audio, video, screen, recording}");
    const p = socket.data.participant;
    if (!p) fail("not-in-room", "join a room first");
    for (const k of ["audio", "video", "screen", "recording"]) {
      if (k in payload && typeof payload[k] !== "boolean") fail("bad-request", `${k} must be a boolean`);
    }
    for (const k of ["audio", "video", "screen", "recording"]) if (k in payload) p[k] = payload[k];
    const state = { from: p.id, audio: p.audio, video: p.video, screen: p.screen, recording: p.recording };
    for (const o of socket.data.room.members.values()) if (o.id !== p.id) o.socket.emit("media-state", state);
    return { ok: true };
  },
  "ice-servers"() {
    return { ok: true, iceServers: [], iceTransportPolicy: "all" };
  },
  // Dialect B, the lobby tutorial.
  "room:join"(socket, payload) {
    if (!isObject(payload)) fail("bad-request", "want {email, room}");
    const roomId = checkRoom(payload.room);
    const email = payload.email;
    if (typeof email !== "string" || email.length < 1 || [...email].length > 64) fail("invalid-name", "email must be 1-64 characters");
    enterRoom(socket, roomId, email, "B");
    socket.emit("room:join", { email, room: roomId });
    return { ok: true };
  },
  "user:call": relay("offer", "incomming:call"),
  "call:accepted": relay("ans", "call:accepted"),
  "peer:nego:needed": relay("offer", "peer:nego:needed"),
  "peer:nego:done": relay("ans", "peer:nego:final"),
};

function payloadBytes(args) {
  let n = 0;
  for (const a of args) if (typeof a !== "function") n += a === undefined ? 0 : Buffer.byteLength(JSON.stringify(a) ?? "");
  return n;
}

io.on("connection", (socket) => {
  // The per-socket token bucket, as Huddle's.
  let tokens = limits.burst;
  let last = performance.now();
  const takeToken = () => {
    const now = performance.now();
    tokens = Math.min(limits.burst, tokens + ((now - last) / 1000) * limits.rate);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  // onAny sees every event in order; socket.io dispatches synchronously, so
  // handling here keeps per-socket ordering.
  socket.onAny((event, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    const refuse = (code, message) => {
      if (ack) ack({ ok: false, error: { code, message } });
      else socket.emit("signaling-error", { event, code, message });
    };
    const handler = Object.hasOwn(handlers, event) ? handlers[event] : undefined;
    if (!handler) return refuse("unknown-event", `no such event: ${event}`);
    if (!takeToken()) return refuse("rate-limited", "too many events");
    if (payloadBytes(args) > limits.eventBytes) return refuse("too-large", "event payload too large");
    try {
      const reply = handler(socket, args[0]);
      if (ack) ack(reply);
    } catch (err) {
      if (err instanceof SignalingError) return refuse(err.code, err.message);
      console.error(err);
      refuse("bad-request", "internal error");
    }
  });
  socket.on("disconnect", () => leaveRoom(socket));
});

httpServer.listen(Number(flags.port), flags.host, () => {
  const { address, port } = httpServer.address();
  console.log(`reference server listening on http://${address}:${port}`);
});

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    io.close();
    httpServer.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
