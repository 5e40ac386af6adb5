// Runs one compatibility case of the official socket.io-client against the
// Go echo server of compat_test.go: node compat.mjs <url> <case>.
// Prints "PASS <case>" and exits 0, or prints the failure and exits 1.
import { io, Manager } from "socket.io-client";

const [url, name] = process.argv.slice(2);
const clients = [];

function connect(opts = {}, path = "") {
  const s = io(url + path, { reconnection: false, forceNew: true, timeout: 5000, ...opts });
  clients.push(s);
  return s;
}
function once(emitter, ev, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${ev}`)), ms);
    emitter.once(ev, (...a) => { clearTimeout(t); resolve(a); });
  });
}
async function connected(s) {
  if (!s.connected) {
    const err = once(s, "connect_error").then(([e]) => { throw e; });
    await Promise.race([once(s, "connect"), err]);
  }
  return s;
}
// ack emits with an acknowledgement and resolves with all its arguments.
function ack(s, ...args) {
  return new Promise((resolve, reject) => {
    s.timeout(5000).emit(...args, (err, ...res) => (err ? reject(err) : resolve(res)));
  });
}
function assert(cond, msg) {
  if (!cond) throw new Error("assertion failed: " + msg);
}
function eq(a, b, msg) {
  const ja = JSON.stringify(a), jb = JSON.stringify(b);
  if (ja !== jb) throw new Error(`${msg}: got ${ja.slice(0, 200)}, want ${jb.slice(0, 200)}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function echo(s) {
  const obj = { a: 1, b: [true, null, "x"], c: { d: "é" } };
  const [r1, r2] = await ack(s, "echo", obj, 42);
  eq([r1, r2], [obj, 42], "echo with ack");
  const got = once(s, "echo");
  s.emit("echo", "no-ack", 7);
  eq(await got, ["no-ack", 7], "echo without ack");
}

async function namespacesBoth(main, custom) {
  const engine = main.io.engine;
  assert(custom.id !== main.id, "one socket id per namespace");
  const [w1, id1] = await ack(main, "where");
  const [w2, id2] = await ack(custom, "where");
  eq([w1, w2], ["/", "/custom"], "each namespace's own handler");
  eq([id1, id2], [main.id, custom.id], "socket ids seen by the server");
  await echo(main);
  await echo(custom);
  // Server to client with an ack, in /custom.
  custom.on("question", (q, cb) => cb({ answer: q.n * 2 }));
  const answer = once(custom, "answer");
  custom.emit("ask", { n: 21 });
  eq(await answer, [{ answer: 42 }], "server->client ack in /custom");
  const [bin] = await ack(custom, "binary", Buffer.from([1, 2, 255]));
  eq([...bin], [1, 2, 255], "binary attachment in /custom");
  // The client leaves /custom: "/" and the session go on.
  const gone = once(custom, "disconnect");
  custom.disconnect();
  eq((await gone)[0], "io client disconnect", "custom disconnect reason");
  await sleep(100);
  assert(main.connected, "main disconnected with /custom");
  assert(main.io.engine === engine, "a new session after leaving /custom");
  await echo(main);
  // Back in /custom on the same session; the server then disconnects "/"
  // and /custom goes on.
  custom.connect();
  await connected(custom);
  const mainGone = once(main, "disconnect");
  main.emit("kick");
  eq((await mainGone)[0], "io server disconnect", "main disconnect reason");
  const [w3] = await ack(custom, "where");
  eq(w3, "/custom", "custom after main left");
  assert(custom.io.engine === engine, "a new session after the server disconnected /");
}

async function order(opts) {
  const s = await connected(connect(opts));
  const N = 500;
  for (let i = 0; i < N; i++) s.emit("seq", i);
  const [res] = await ack(s, "seq-done");
  eq(res, { count: N, inOrder: true }, "client->server order");
  const seen = [];
  const done = new Promise((resolve) => s.on("seq", (i) => { seen.push(i); if (seen.length === N) resolve(); }));
  s.emit("seq-request", N);
  await Promise.race([done, sleep(10000).then(() => { throw new Error(`only ${seen.length} of ${N} events`); })]);
  for (let i = 0; i < N; i++) assert(seen[i] === i, `server->client event ${i} out of order (got ${seen[i]})`);
  eq(s.io.engine.transport.name, opts.transports[0], "transport");
}

const cases = {
  async websocket() {
    const s = await connected(connect({ transports: ["websocket"] }));
    eq(s.io.engine.transport.name, "websocket", "transport");
    await echo(s);
  },
  async polling() {
    const s = await connected(connect({ transports: ["polling"] }));
    await echo(s);
    eq(s.io.engine.transport.name, "polling", "transport");
  },
  async upgrade() {
    const s = connect();
    // An "upgrade" event proves the session started on polling.
    const upgraded = once(s.io.engine, "upgrade");
    await connected(s);
    await echo(s); // may run before, during or after the upgrade
    const [transport] = await upgraded;
    eq(transport.name, "websocket", "upgraded to");
    eq(s.io.engine.transport.name, "websocket", "after upgrade");
    await echo(s);
  },
  async acks() {
    const s = await connected(connect());
    const [r] = await ack(s, "echo", "ping");
    eq(r, "ping", "client->server ack");
    s.on("question", (q, cb) => cb({ answer: q.n * 2 }));
    const answer = once(s, "answer");
    s.emit("ask", { n: 21 });
    eq(await answer, [{ answer: 42 }], "server->client ack");
  },
  async binary() {
    for (const transports of [["websocket"], ["polling"]]) {
      const s = await connected(connect({ transports }));
      const a = Buffer.from([0, 1, 2, 255, 254]);
      const b = Buffer.from("hello");
      const got = once(s, "binary");
      const acked = await ack(s, "binary", a, { nested: "meta" }, b);
      const pushed = await got;
      for (const [label, arr] of [["ack", acked], ["event", pushed]]) {
        eq(arr.length, 2, `${transports}: ${label} attachment count`);
        eq([...arr[0]], [...a], `${transports}: ${label} first buffer`);
        eq(Buffer.from(arr[1]).toString(), "hello", `${transports}: ${label} second buffer`);
      }
      s.disconnect();
    }
  },
  async "unicode-polling"() {
    const s = await connected(connect({ transports: ["polling"] }));
    const unit = "héllo wörld ça 😀🎉 日本語テキスト 한국어 ";
    let text = "";
    while (Buffer.byteLength(text) < 6 * 1024) text += unit;
    const [r] = await ack(s, "echo", { text });
    eq(r.text, text, "6 KB unicode payload");
    const got = once(s, "echo");
    s.emit("echo", text);
    eq((await got)[0], text, "6 KB unicode payload pushed by server");
  },
  async "order-websocket"() { await order({ transports: ["websocket"] }); },
  async "order-polling"() { await order({ transports: ["polling"] }); },
  async room() {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => connected(connect())));
    for (const s of [a, b, c]) eq(await ack(s, "join", "r1"), [true], "join");
    const outsider = await connected(connect());
    const received = { a: 0, b: 0, c: 0, outsider: 0 };
    const gotB = once(b, "broadcast"), gotC = once(c, "broadcast");
    a.on("broadcast", () => received.a++);
    outsider.on("broadcast", () => received.outsider++);
    await ack(a, "broadcast", "r1", { hi: "from a" });
    eq(await gotB, [{ hi: "from a" }], "b received");
    eq(await gotC, [{ hi: "from a" }], "c received");
    await ack(a, "echo", "flush"); // anything sent to a before this has arrived
    await sleep(100);
    eq(received.a, 0, "the sender got its own broadcast");
    eq(received.outsider, 0, "a socket outside the room got the broadcast");
  },
  async reconnect() {
    const s = io(url, { forceNew: true, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, timeout: 3000 });
    clients.push(s);
    await connected(s);
    const firstID = s.id;
    await echo(s);
    const reconnected = once(s.io, "reconnect", 15000);
    const gone = once(s, "disconnect");
    console.log("RESTART");
    const [reason] = await gone;
    assert(reason === "transport close" || reason === "transport error", `disconnect reason ${reason}`);
    await reconnected;
    await connected(s);
    assert(s.id !== firstID, "new socket id after reconnect");
    await echo(s);
  },
  async auth() {
    const bad = connect({ auth: { token: "bad" } });
    const [err] = await once(bad, "connect_error");
    eq(err.message, "not allowed", "middleware error message");
    const good = await connected(connect({ auth: { token: "good" } }));
    const [r] = await ack(good, "whoami");
    eq(r.auth, { token: "good" }, "auth seen by the middleware");
  },
  async namespace() {
    const s = connect({}, "/admin");
    const [err] = await once(s, "connect_error");
    eq(err.message, "Invalid namespace", "unknown namespace refused");
  },
  // io(url + "/custom") and io(url) share one Manager, so one Engine.IO
  // session: events, acks and binary attachments in both namespaces, then
  // each leaves without the other.
  async namespaces() {
    const custom = io(url + "/custom", { reconnection: false, timeout: 5000 });
    const main = io(url, { reconnection: false, timeout: 5000 });
    clients.push(custom, main);
    assert(custom.io === main.io, "the two sockets share one Manager");
    await Promise.all([connected(custom), connected(main)]);
    await namespacesBoth(main, custom);
  },
  async "namespaces-polling"() {
    const m = new Manager(url, { reconnection: false, timeout: 5000, transports: ["polling"] });
    const custom = m.socket("/custom"), main = m.socket("/");
    clients.push(custom, main);
    await Promise.all([connected(custom), connected(main)]);
    await namespacesBoth(main, custom);
    eq(m.engine.transport.name, "polling", "transport");
  },
  async "server-disconnect"() {
    const s = await connected(connect({ reconnection: true }));
    const gone = once(s, "disconnect");
    s.emit("kick");
    const [reason] = await gone;
    eq(reason, "io server disconnect", "reason");
    await sleep(300);
    assert(!s.connected, "client reconnected after a server disconnect");
  },
};

const timer = setTimeout(() => { console.log(`FAIL ${name}: case timeout`); process.exit(1); }, 30000);
try {
  if (!cases[name]) throw new Error(`unknown case ${name}`);
  await cases[name]();
  console.log(`PASS ${name}`);
  clients.forEach((s) => s.disconnect());
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
}
