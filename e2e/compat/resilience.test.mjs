// Resilience of the real huddle binary seen by the official socket.io-client:
// a dropped connection resumes its place within the grace period (chat sent
// meanwhile is replayed), the place is given up when the grace period ends,
// SIGTERM loses no chat and clients come back to the next server on the same
// port, foreign origins are refused, and the per-IP connection cap holds.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startServer } from "../lib/server.mjs";

const servers = [];
const sockets = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const srv of servers.splice(0)) await srv.stop();
});

async function start(opts) {
  const srv = await startServer(opts);
  servers.push(srv);
  return srv;
}

/** A socket.io-client socket, tracked for cleanup. */
function client(url, opts = {}) {
  const s = io(url, { forceNew: true, reconnection: false, ...opts });
  sockets.push(s);
  return s;
}

/** Resolves with the args of the next `event` on emitter s. */
function next(s, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    s.once(event, (...args) => {
      clearTimeout(t);
      resolve(args.length > 1 ? args : args[0]);
    });
  });
}

async function connected(url, opts) {
  const s = client(url, opts);
  await next(s, "connect");
  return s;
}

/** Polls cond until it holds, or fails with what. */
async function until(what, cond, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let roomSeq = 0;
const newRoom = () => `resilience-${process.pid}-${++roomSeq}`;

/**
 * A participant as the web app does it: joins on every (re)connect, with
 * the resume token of its last join once it has one.
 */
function participant(s, room, name) {
  const p = { socket: s, acks: [], token: null, events: [] };
  const join = async () => {
    const req = p.token ? { room, name, resume: p.token } : { room, name };
    const ack = await s.emitWithAck("join-room", req);
    assert.equal(ack.ok, true, JSON.stringify(ack));
    p.token = ack.resumeToken;
    p.acks.push(ack);
  };
  s.on("connect", () => {
    p.joined = join();
  });
  if (s.connected) p.joined = join();
  for (const ev of ["user-joined", "user-left", "chat-message", "host-changed"]) {
    s.on(ev, (body) => p.events.push({ ev, body }));
  }
  return p;
}

const chats = (p) => p.events.filter((e) => e.ev === "chat-message").map((e) => e.body.text);

test("reconnect grace: a dropped participant resumes with its id and gets the chat it missed, in order", async () => {
  const srv = await start();
  const room = newRoom();
  // A reconnects by itself one second after its transport drops.
  const a = participant(
    await connected(srv.url, {
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 1000,
      randomizationFactor: 0,
    }),
    room,
    "Ada",
  );
  await a.joined;
  const b = participant(await connected(srv.url), room, "Bob");
  await b.joined;
  await until("A told of B", () => a.events.some((e) => e.ev === "user-joined"));
  const first = a.acks[0];
  const seenByB = b.events.length;

  const dropped = next(a.socket, "disconnect");
  a.socket.io.engine.close(); // the transport closes; no DISCONNECT packet
  // "forced close": the client closed its transport itself, as when the
  // network drops; the server sees a transport close, not a leave.
  const [reason] = [await dropped].flat(); // (reason, details)
  assert.ok(["transport close", "forced close"].includes(reason), reason);
  const beforeDrop = chats(a).length;

  // While A is away (its reconnect is 1 s off), B chats.
  await sleep(150);
  const missed = [];
  for (let i = 0; i < 10; i++) {
    const text = `while away ${i}`;
    missed.push(text);
    const ack = await b.socket.emitWithAck("chat-message", { text });
    assert.equal(ack.ok, true);
    await sleep(30);
  }
  assert.equal(a.socket.connected, false, "A came back before B finished; the test proves nothing");

  await next(a.socket, "connect", 5000);
  await a.joined;
  const resumed = a.acks[1];
  assert.equal(resumed.id, first.id, "same participant id after resume");
  assert.equal(resumed.resumed, true);
  await until("A got the replayed chat", () => chats(a).length >= beforeDrop + missed.length);
  assert.deepEqual(chats(a).slice(beforeDrop), missed, "every missed message, in order, once");

  // The resumed connection works both ways.
  const live = next(b.socket, "chat-message");
  await a.socket.emitWithAck("chat-message", { text: "back" });
  const msg = await live;
  assert.equal(msg.from, first.id);
  assert.equal(msg.text, "back");

  const bEvents = b.events.slice(seenByB).map((e) => e.ev);
  assert.ok(!bEvents.includes("user-left"), `B saw ${bEvents}`);
  assert.ok(!bEvents.includes("user-joined"), `B saw ${bEvents}`);
});

test("grace expiry: a participant who does not come back leaves after --reconnect-grace", async () => {
  const srv = await start({ args: ["--reconnect-grace", "1s"] });
  const room = newRoom();
  const a = participant(await connected(srv.url, { transports: ["websocket"] }), room, "Ada");
  await a.joined;
  const b = participant(await connected(srv.url), room, "Bob");
  await b.joined;

  const left = next(b.socket, "user-left", 6000);
  const dropped = Date.now();
  a.socket.io.engine.close(); // reconnection is off: A is gone for good
  const body = await left;
  const after = Date.now() - dropped;
  assert.deepEqual(body, { id: a.acks[0].id });
  // A leave at once would mean no grace period at all.
  assert.ok(after >= 900, `user-left after ${after} ms, before the 1 s grace period ended`);
});

test("SIGTERM: a burst of 50 chats is delivered, the server exits 0, clients reconnect to the next server", async () => {
  const srv = await start({ args: ["--shutdown-timeout", "6s"] });
  const room = newRoom();
  const reconnecting = { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 500 };
  const a = participant(await connected(srv.url, { transports: ["websocket"], ...reconnecting }), room, "Ada");
  await a.joined;
  const b = participant(await connected(srv.url, reconnecting), room, "Bob");
  await b.joined;
  await until("B upgraded to WebSocket", () => b.socket.io.engine.transport.name === "websocket");

  const burst = Array.from({ length: 50 }, (_, i) => `burst ${i}`);
  const aBack = next(a.socket, "connect", 20000);
  const bBack = next(b.socket, "connect", 20000);
  aBack.catch(() => {}); // awaited below; no unhandled rejection if the test fails first
  bBack.catch(() => {});
  for (const text of burst) a.socket.emit("chat-message", { text });
  // No pause: socket.io-client writes the first packet now and the rest on
  // its next tick, a moment after the signal. A graceful server is still
  // reading then; one that closes at once loses them.
  const t0 = Date.now();
  const code = await srv.stop();
  const took = Date.now() - t0;
  servers.splice(servers.indexOf(srv), 1);
  assert.equal(code, 0, `exit code ${code}\n${srv.logs()}`);
  assert.ok(took < 6000 + 1000, `exit took ${took} ms, above --shutdown-timeout`);
  // Checked at the end, so that a loss does not hide how the rest went.
  const receivedBurst = chats(b).slice();

  // A new server on the same port: both clients come back by themselves.
  const again = await start({ port: srv.port });
  await Promise.all([aBack, bBack]);
  await Promise.all([a.joined, b.joined]);
  assert.equal(a.acks.length, 2);
  assert.equal(b.acks.length, 2);
  // The new server knows nothing of the old room: A returns as a fresh
  // member with its old id (the token names it) and B sees it.
  assert.equal(a.acks[1].id, a.acks[0].id);
  const live = next(b.socket, "chat-message");
  await a.socket.emitWithAck("chat-message", { text: "after restart" });
  assert.equal((await live).text, "after restart");
  assert.ok(again.logs().includes("participant"), "the new server saw the participants");

  assert.deepEqual(
    receivedBurst,
    burst,
    `B received ${receivedBurst.length} of the 50 chat messages A sent just before SIGTERM`,
  );
});

test("origin: a foreign Origin is refused, the server's own is let in", async () => {
  const srv = await start();
  const evil = client(srv.url, { transports: ["polling"], extraHeaders: { Origin: "https://evil.example" } });
  const err = await next(evil, "connect_error");
  assert.equal(err.description, 403, `refusal: ${err.message} ${err.description}`);
  assert.equal(evil.connected, false);

  const own = client(srv.url, { transports: ["polling"], extraHeaders: { Origin: srv.url } });
  await next(own, "connect");
  const ack = await own.emitWithAck("join-room", { room: newRoom(), name: "Own" });
  assert.equal(ack.ok, true);
});

test("connections per IP: the 6th of --max-conns-per-ip 5 is refused with a clear message; a freed slot lets one in", async () => {
  const srv = await start({ args: ["--max-conns-per-ip", "5"] });
  const five = [];
  for (let i = 0; i < 5; i++) five.push(await connected(srv.url, { transports: ["websocket"] }));

  const sixth = client(srv.url, { transports: ["websocket"] });
  const err = await next(sixth, "connect_error");
  assert.match(err.message, /too many connections/);
  assert.equal(sixth.connected, false);

  five[0].disconnect();
  // The slot is given back when the server has handled the disconnect;
  // until then a newcomer is still refused, so try a few times.
  let seventh;
  const deadline = Date.now() + 5000;
  for (;;) {
    seventh = client(srv.url, { transports: ["websocket"] });
    const outcome = await Promise.race([next(seventh, "connect").then(() => "in"), next(seventh, "connect_error").then((e) => e.message)]);
    if (outcome === "in") break;
    assert.match(outcome, /too many connections/);
    assert.ok(Date.now() < deadline, "the freed slot was never given back");
    await sleep(100);
  }
  assert.equal(seventh.connected, true);
  // Still capped: five are connected again.
  const eighth = client(srv.url, { transports: ["websocket"] });
  assert.match((await next(eighth, "connect_error")).message, /too many connections/);
});
