// The official socket.io-client 4.x against two huddle nodes on one
// redis-server (cluster mode): clients of one meeting on different nodes,
// both dialects, as the seed clients speak them (socket ids as peer ids).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { io } from "socket.io-client";
import { startServer, freePort } from "../lib/server.mjs";

const haveRedis = spawnSync("sh", ["-c", "command -v redis-server"]).status === 0;
let redis;
const nodes = [];
const sockets = [];

before(async () => {
  if (!haveRedis) return;
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "huddle-redis-"));
  redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const url = `redis://127.0.0.1:${port}/0`;
  for (let i = 1; i <= 2; i++) {
    // A node that starts before Redis answers exits: retry briefly.
    for (let tries = 0; ; tries++) {
      try {
        nodes.push(await startServer({ args: ["--redis-url", url, "--node-id", `n${i}`, "--event-burst", "1000"] }));
        break;
      } catch (e) {
        if (tries > 20) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
});

after(async () => {
  for (const s of sockets) s.close();
  for (const n of nodes) await n.stop();
  if (redis) redis.kill("SIGKILL");
});

function connect(node, opts = {}) {
  const s = io(node.url, { forceNew: true, reconnection: false, ...opts });
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}

function next(s, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    s.once(event, (...args) => {
      clearTimeout(t);
      resolve(args.length > 1 ? args : args[0]);
    });
  });
}

test("one meeting across two nodes: both dialects, relays and chat", { skip: !haveRedis && "redis-server not installed" }, async () => {
  const r = `cluster-${process.pid}`;
  const [n1, n2] = nodes;
  const a = await connect(n1, { transports: ["websocket"] });
  const b = await connect(n2, { transports: ["polling"] });
  const c = await connect(n2); // polling, then upgrade
  const ackA = await a.timeout(5000).emitWithAck("join-room", { room: r, name: "A" });
  assert.equal(ackA.id, a.id);
  const joined = next(a, "user-joined");
  const ackB = await b.timeout(5000).emitWithAck("join-room", { room: r, name: "B" });
  assert.equal(ackB.id, b.id); // the socket id, also when relayed to the other node
  assert.deepEqual(ackB.peers.map((p) => p.id), [a.id]);
  assert.equal((await joined).id, b.id);

  const seenByA = next(a, "user-joined");
  const echo = next(c, "room:join");
  c.emit("room:join", { email: "c@example.com", room: r });
  assert.deepEqual(await echo, { email: "c@example.com", room: r });
  assert.equal((await seenByA).name, "c@example.com");

  const offer = { type: "offer", sdp: "v=0\r\n" };
  const gotOffer = next(b, "offer");
  assert.deepEqual(await a.timeout(5000).emitWithAck("offer", { to: b.id, offer }), { ok: true });
  assert.deepEqual(await gotOffer, { from: a.id, offer });
  const gotAnswer = next(a, "answer");
  b.emit("answer", { to: a.id, answer: { type: "answer", sdp: "v=0" } });
  assert.equal((await gotAnswer).from, b.id);
  const cand = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
  const gotCand = next(a, "ice-candidate");
  b.emit("ice-candidate", { to: a.id, candidate: cand });
  assert.deepEqual(await gotCand, { from: b.id, candidate: cand });

  const incoming = next(c, "incomming:call");
  a.emit("user:call", { to: c.id, offer });
  assert.deepEqual(await incoming, { from: a.id, offer });
  const accepted = next(a, "call:accepted");
  c.emit("call:accepted", { to: a.id, ans: { sdp: "ans" } });
  assert.deepEqual(await accepted, { from: c.id, ans: { sdp: "ans" } });

  const chat = next(b, "chat-message");
  await a.timeout(5000).emitWithAck("chat-message", { text: "hello across nodes" });
  const m = await chat;
  assert.equal(m.from, a.id);
  assert.equal(m.text, "hello across nodes");

  const left = next(a, "user-left");
  const bid = b.id; // socket.io-client forgets it on disconnect
  b.disconnect();
  assert.equal((await left).id, bid);
});
