// The official socket.io-client 4.x from npm against the real huddle binary:
// both signaling dialects, acks, ordering, large payloads over polling,
// refusals, and reconnection after a server restart.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startServer } from "../lib/server.mjs";

let server;
const sockets = [];

before(async () => {
  // A burst above 500 so the ordering test is about ordering; the rate
  // limit has its own test with a server of default limits.
  server = await startServer({ args: ["--max-participants", "4", "--event-burst", "1000"] });
});

after(async () => {
  for (const s of sockets) s.close();
  if (server) await server.stop();
});

function connect(opts = {}) {
  const s = io(server.url, { forceNew: true, reconnection: false, ...opts });
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}

/** Resolves with the args of the next `event` on socket s. */
function next(s, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    s.once(event, (...args) => {
      clearTimeout(t);
      resolve(args.length > 1 ? args : args[0]);
    });
  });
}

let roomSeq = 0;
const room = () => `room-${process.pid}-${++roomSeq}`;

test("join-room with ack, user-joined to others, peers in the ack", async () => {
  const r = room();
  const a = await connect();
  const b = await connect();
  const ackA = await a.emitWithAck("join-room", { room: r, name: "Ada" });
  assert.equal(ackA.ok, true);
  assert.equal(ackA.id, a.id);
  assert.equal(ackA.room, r);
  assert.deepEqual(ackA.peers, []);
  assert.ok(Array.isArray(ackA.iceServers));
  assert.ok(ackA.resumeToken);
  const joined = next(a, "user-joined");
  const ackB = await b.emitWithAck("join-room", r); // the seed's string form
  assert.equal(ackB.ok, true);
  assert.equal(ackB.host, a.id);
  assert.deepEqual(ackB.peers.map((p) => [p.id, p.name]), [[a.id, "Ada"]]);
  const j = await joined;
  assert.equal(j.id, b.id);
  assert.equal(j.name, "Guest");
});

test("3 clients, both dialects, in one room: offer/answer/ice and lobby events", async () => {
  const r = room();
  const a = await connect({ transports: ["websocket"] });
  const b = await connect({ transports: ["polling"] });
  const c = await connect(); // polling, then upgrade
  await a.emitWithAck("join-room", { room: r, name: "A" });
  // A hears of B on its own socket, which may come after B's ack: wait
  // for it, so that the next user-joined A sees is C's.
  const bSeen = next(a, "user-joined");
  await b.emitWithAck("join-room", { room: r, name: "B" });
  assert.equal((await bSeen).name, "B");

  // Dialect B joiner: the lobby echo to itself, user:joined to dialect-B
  // peers, user-joined to dialect-A peers.
  const seenByA = next(a, "user-joined");
  const echo = next(c, "room:join");
  c.emit("room:join", { email: "c@example.com", room: r });
  assert.deepEqual(await echo, { email: "c@example.com", room: r });
  assert.equal((await seenByA).name, "c@example.com");

  // Dialect A relays.
  const offer = { type: "offer", sdp: "v=0\r\n" };
  const gotOffer = next(b, "offer");
  assert.deepEqual(await a.emitWithAck("offer", { to: b.id, offer }), { ok: true });
  assert.deepEqual(await gotOffer, { from: a.id, offer });
  const gotAnswer = next(a, "answer");
  b.emit("answer", { to: a.id, answer: { type: "answer", sdp: "v=0" } });
  assert.equal((await gotAnswer).from, b.id);
  const cand = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
  const gotCand = next(b, "ice-candidate");
  a.emit("ice-candidate", { to: b.id, candidate: cand });
  assert.deepEqual(await gotCand, { from: a.id, candidate: cand });

  // Dialect B relays, spelled as the tutorial spells them.
  const incoming = next(c, "incomming:call");
  a.emit("user:call", { to: c.id, offer });
  assert.deepEqual(await incoming, { from: a.id, offer });
  const accepted = next(a, "call:accepted");
  c.emit("call:accepted", { to: a.id, ans: { type: "answer", sdp: "x" } });
  assert.deepEqual(await accepted, { from: c.id, ans: { type: "answer", sdp: "x" } });
  const nego = next(c, "peer:nego:needed");
  a.emit("peer:nego:needed", { to: c.id, offer });
  assert.deepEqual(await nego, { from: a.id, offer });
  const fin = next(a, "peer:nego:final");
  c.emit("peer:nego:done", { to: a.id, ans: { type: "answer", sdp: "y" } });
  assert.deepEqual(await fin, { from: c.id, ans: { type: "answer", sdp: "y" } });

  // Leave: dialect A peers get user-left, dialect B peers user:left.
  const leftA = next(a, "user-left");
  const leftC = next(c, "user:left");
  await b.emitWithAck("leave-room");
  assert.deepEqual(await leftA, { id: b.id });
  assert.deepEqual(await leftC, { id: b.id });
});

test("a 6 KB SDP with non-ASCII text over polling arrives intact", async () => {
  const r = room();
  const a = await connect({ transports: ["polling"] });
  const b = await connect({ transports: ["polling"] });
  await a.emitWithAck("join-room", r);
  await b.emitWithAck("join-room", r);
  let sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=Réunion 会議 🎥\r\n";
  while (sdp.length < 6144) sdp += "a=candidate:842163049 1 udp 1677729535 ünïcödé 日本語 ✓\r\n";
  const got = next(b, "offer");
  await a.emitWithAck("offer", { to: b.id, offer: { type: "offer", sdp } });
  const msg = await got;
  assert.equal(msg.offer.sdp, sdp);
});

test("500 ice-candidate events arrive in order", async () => {
  const r = room();
  const a = await connect({ transports: ["websocket"] });
  const b = await connect({ transports: ["polling"] });
  await a.emitWithAck("join-room", r);
  await b.emitWithAck("join-room", r);
  const got = [];
  const done = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`only ${got.length} of 500 arrived`)), 20000);
    b.on("ice-candidate", (m) => {
      got.push(m.candidate.n);
      if (got.length === 500) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  for (let n = 0; n < 500; n++) a.emit("ice-candidate", { to: b.id, candidate: { n } });
  await done;
  assert.deepEqual(got, [...Array(500).keys()]);
});

test("relays across rooms and to unknown peers are refused", async () => {
  const a = await connect();
  const b = await connect();
  await a.emitWithAck("join-room", room());
  await b.emitWithAck("join-room", room());
  let leaked = false;
  b.on("offer", () => (leaked = true));
  const res = await a.emitWithAck("offer", { to: b.id, offer: { type: "offer", sdp: "x" } });
  assert.deepEqual(res.ok, false);
  assert.equal(res.error.code, "unknown-peer");
  // Without an ack, the refusal comes as signaling-error.
  const err = next(a, "signaling-error");
  a.emit("ice-candidate", { to: b.id, candidate: {} });
  assert.deepEqual(await err, { event: "ice-candidate", code: "unknown-peer", message: "no such participant in this meeting" });
  // Before joining any room.
  const c = await connect();
  const notIn = await c.emitWithAck("offer", { to: a.id, offer: {} });
  assert.equal(notIn.error.code, "not-in-room");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(leaked, false);
});

test("malformed payloads get clear errors and the socket stays usable", async () => {
  const a = await connect();
  const cases = [
    ["join-room", [], "bad-request"],
    ["join-room", [42], "bad-request"],
    ["join-room", [""], "invalid-room"],
    ["join-room", ["../etc/passwd"], "invalid-room"],
    ["join-room", ["x".repeat(65)], "invalid-room"],
    ["join-room", [{ room: "ok-room", name: "\u0000bad" }], "invalid-name"],
    ["join-room", [{ room: "ok-room", name: "n".repeat(65) }], "invalid-name"],
    ["room:join", [{ email: "", room: "r" }], "invalid-name"],
    ["offer", ["not an object"], "bad-request"],
    ["offer", [{ offer: {} }], "bad-request"],
    ["chat-message", [{ text: 5 }], "bad-request"],
    ["no-such-event", [{}], "unknown-event"],
  ];
  for (const [event, args, code] of cases) {
    const res = await a.emitWithAck(event, ...args);
    assert.equal(res.ok, false, `${event} ${JSON.stringify(args)}`);
    assert.equal(res.error.code, code, `${event} ${JSON.stringify(args)}`);
  }
  const ok = await a.emitWithAck("join-room", room());
  assert.equal(ok.ok, true);
});

test("a flood is rate-limited: the burst passes, one refusal is answered, the rest dropped, the socket lives", async () => {
  const s2 = await startServer({ args: ["--event-burst", "50", "--events-per-second", "10"] });
  const a = io(s2.url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  sockets.push(a);
  try {
    await next(a, "connect");
    // Refused events after the first of a run get no ack: they time out.
    const results = await Promise.allSettled(
      Array.from({ length: 80 }, () => a.timeout(1500).emitWithAck("media-state", { audio: true })),
    );
    const acks = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
    // The join is not there, so accepted events fail with not-in-room: what
    // matters is which code each got.
    const limited = acks.filter((r) => r.error?.code === "rate-limited").length;
    const answered = acks.filter((r) => r.error?.code === "not-in-room").length;
    assert.equal(limited, 1, `rate-limited ${limited} of 80`);
    assert.ok(answered >= 49 && answered <= 55, `not-in-room ${answered} of 80`);
    assert.equal(acks.length + results.filter((r) => r.status === "rejected").length, 80);
    assert.equal(a.connected, true);
  } finally {
    a.close();
    await s2.stop();
  }
});

test("a full room is refused with room-full", async () => {
  const r = room();
  for (let i = 0; i < 4; i++) {
    const s = await connect();
    assert.equal((await s.emitWithAck("join-room", r)).ok, true);
  }
  const late = await connect();
  const res = await late.emitWithAck("join-room", r);
  assert.equal(res.error.code, "room-full");
});

test("chat reaches everyone with server id and time; late joiners get history", async () => {
  const r = room();
  const a = await connect();
  const b = await connect();
  await a.emitWithAck("join-room", { room: r, name: "Ann" });
  await b.emitWithAck("join-room", { room: r, name: "Bob" });
  const text = '<img src=x onerror="alert(1)"> héllo 👋';
  const atB = next(b, "chat-message");
  const atA = next(a, "chat-message");
  const ack = await a.emitWithAck("chat-message", { text });
  assert.equal(ack.ok, true);
  const m = await atB;
  assert.equal(m.text, text);
  assert.equal(m.from, a.id);
  assert.equal(m.name, "Ann");
  assert.equal(m.id, ack.id);
  assert.equal(typeof m.ts, "number");
  assert.deepEqual(await atA, m);
  const c = await connect();
  const join = await c.emitWithAck("join-room", r);
  assert.deepEqual(join.chat, [m]);
});

test("media-state reaches the others and is in the join ack", async () => {
  const r = room();
  const a = await connect();
  const b = await connect();
  await a.emitWithAck("join-room", r);
  await b.emitWithAck("join-room", r);
  const got = next(b, "media-state");
  a.emit("media-state", { audio: false, video: true, screen: true });
  assert.deepEqual(await got, { from: a.id, audio: false, video: true, screen: true, recording: false });
  const c = await connect();
  const join = await c.emitWithAck("join-room", r);
  const peerA = join.peers.find((p) => p.id === a.id);
  assert.equal(peerA.audio, false);
  assert.equal(peerA.screen, true);
});

test("host controls: lock, password, waiting room, remove, mute request", async () => {
  const r = room();
  const host = await connect();
  const guest = await connect();
  assert.equal((await host.emitWithAck("join-room", r)).ok, true);
  const g = await guest.emitWithAck("join-room", r);
  // Only the host may change settings.
  assert.equal((await guest.emitWithAck("room-settings", { locked: true })).error.code, "not-host");
  // Mute request reaches the guest.
  const mute = next(guest, "mute-request");
  assert.equal((await host.emitWithAck("request-mute", { id: g.id })).ok, true);
  assert.deepEqual(await mute, { from: host.id });
  // Password.
  assert.equal((await host.emitWithAck("room-settings", { password: "s3cret" })).ok, true);
  const p1 = await connect();
  assert.equal((await p1.emitWithAck("join-room", { room: r })).error.code, "wrong-password");
  assert.equal((await p1.emitWithAck("join-room", { room: r, password: "s3cret" })).ok, true);
  await p1.emitWithAck("leave-room");
  // Waiting room: the arrival waits; the host admits it.
  await host.emitWithAck("room-settings", { password: "", waitingRoom: true });
  const w = await connect();
  const list = next(host, "waiting-list");
  const wAck = await w.emitWithAck("join-room", { room: r, name: "Wendy" });
  assert.equal(wAck.waiting, true);
  assert.deepEqual((await list).waiting.map((x) => x.name), ["Wendy"]);
  const admitted = next(w, "admitted");
  await host.emitWithAck("admit", { id: wAck.id });
  const welcome = await admitted;
  assert.equal(welcome.ok, true);
  assert.ok(welcome.peers.some((p) => p.id === host.id));
  // Lock, then remove the guest: it is told, and cannot come back.
  await host.emitWithAck("room-settings", { locked: true, waitingRoom: false });
  const removed = next(guest, "removed");
  const left = next(host, "user-left");
  assert.equal((await host.emitWithAck("remove-participant", { id: g.id })).ok, true);
  assert.equal((await removed).by, host.id);
  assert.deepEqual(await left, { id: g.id });
  const back = await guest.emitWithAck("join-room", { room: r, resume: g.resumeToken });
  assert.equal(back.error.code, "locked");
});

test("reconnect after a server restart: the client comes back by itself and rejoins", async () => {
  const s2 = await startServer();
  try {
    const r = room();
    const a = io(s2.url, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
    sockets.push(a);
    await next(a, "connect");
    const first = await a.emitWithAck("join-room", { room: r, name: "Ada" });
    const port = s2.port;
    const disconnected = next(a, "disconnect");
    await s2.stop();
    await disconnected;
    const s3 = await startServer({ port });
    try {
      await next(a, "connect", 10000);
      const again = await a.emitWithAck("join-room", { room: r, name: "Ada", resume: first.resumeToken });
      assert.equal(again.ok, true);
      assert.equal(again.id, first.id, "the participant keeps its id across the restart");
    } finally {
      a.close();
      await s3.stop();
    }
  } finally {
    await s2.stop();
  }
});

test("the client bundle is served at /socket.io/socket.io.js, as by the Node server", async () => {
  const res = await fetch(`${server.url}/socket.io/socket.io.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /javascript/);
  const body = await res.text();
  // The same build as the npm package's, so a plain page's `io()` is 4.x.
  const { readFile } = await import("node:fs/promises");
  const npm = await readFile(new URL("../../node_modules/socket.io-client/dist/socket.io.min.js", import.meta.url), "utf8");
  assert.equal(body, npm);
});
