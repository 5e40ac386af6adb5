// An SFU meeting in a three-node cluster behind HAProxy (real redis-server
// and HAProxy, nodes in their own processes, --media sfu and auto): the
// meeting's home node forwards everyone's media, also for the participants
// whose sockets landed on another node, and its own SFU address is the one
// every browser reaches. When a participant's node (not the home) is killed
// with kill -9, that participant's signaling resumes through another node
// and its media never stops: the home still holds its SFU connections.
// When the home is killed, its SFU goes with it: the browsers reconnect
// through HAProxy to a surviving node, which takes the meeting over and
// resumes them under the same ids; each browser then publishes again to
// the new home's SFU and subscribes there, and every tile has a picture
// again soon after the takeover (takeoverMs and afterTakeoverMs below).
// Nobody is shown leaving, and no browser keeps a dead connection to the
// old SFU.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { freePort, freeUdpPort } from "../lib/server.mjs";
import { routedTo, skipCluster as skip, startHAProxy, startNode, startRedis } from "../lib/cluster.mjs";
import { closeAll, dumpLogs, expectTileFrames, join, launchBrowser, poll } from "../lib/browser.mjs";


/**
 * The issue's target is media back within 5 s of the home's kill -9. The
 * takeover waits for the dead home's room lease to lapse (cluster.Config
 * LeaseTTL 3 s, renewed every 0.9 s: 2.1-3 s after the kill, measured
 * 2.4-2.8 s; takeoverMs allows the join's polling and a loaded machine).
 * The browsers' part follows: publishing and subscribing again at the new
 * home, 0.8-1.4 s on a quiet machine, up to 2.2 s with a load average of
 * 13 on two cores. Media was back 3.7-4.2 s after the kill with helpers'
 * tests loading the machine. takeoverMs is the issue's own bound on the
 * claim ("claimed by another node within 5 s"): 4 s failed once in CI
 * (4,312 ms, load average 11 during the browser tests).
 */
const takeoverMs = 5000;
const afterTakeoverMs = 3000;

/**
 * setup prepares a participant's browser context: its requests go to node
 * (HAProxy routes by the HUDDLE_NODE cookie), and every RTCPeerConnection
 * the page makes is kept in window.__pcs, so that a connection the app
 * forgot to close is seen.
 */
const setup = (url, node) => async (context) => {
  await context.addCookies([{ name: "HUDDLE_NODE", value: node, url }]);
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.__pcs = [];
    // A timeline of the connections, printed to explain a slow recovery.
    window.__events = [];
    // performance.now(): a step of the wall clock (CI once saw one) must
    // not show up as a slow recovery.
    const note = (what) => window.__events.push([performance.now(), what]);
    // Every signaling connection the page opens: one per session, so a
    // reconnect counts one more.
    const NativeWS = window.WebSocket;
    window.__sockets = 0;
    window.WebSocket = class extends NativeWS {
      constructor(...args) {
        super(...args);
        if (String(args[0]).includes("/socket.io/")) window.__sockets++;
      }
    };
    window.RTCPeerConnection = class extends Native {
      constructor(...args) {
        super(...args);
        const n = window.__pcs.push(this);
        note(`pc${n} made`);
        this.addEventListener("connectionstatechange", () => note(`pc${n} ${this.connectionState}`));
        this.addEventListener("track", (e) => note(`pc${n} track ${e.track.kind}`));
        this.addEventListener("signalingstatechange", () => note(`pc${n} ${this.signalingState}`));
      }
    };
    for (const level of ["info", "warn"]) {
      const orig = console[level];
      console[level] = (...a) => {
        note(`${level}: ${a.join(" ")}`);
        orig.apply(console, a);
      };
    }
  });
};

/**
 * watchTiles records, in page, for each remote tile: the longest time
 * without a new frame, and when the first frame came on a new stream after
 * window.__killedAt (the page's performance.now(), see markKill): all
 * media went through the killed node's SFU, so what comes after the kill
 * comes on the new home's connection, in a new stream. What the old
 * stream's decoder still counts after the kill is not a picture back.
 */
const watchTiles = (page, ids) =>
  page.evaluate((ids) => {
    clearTimeout(window.__watchTimer); // one watch at a time
    const w = (window.__watch = {});
    for (const id of ids) w[id] = { max: 0, back: 0, last: performance.now(), frames: 0, el: null, src: null, old: undefined };
    let conn = "";
    const tick = () => {
      const now = performance.now();
      const killed = window.__killedAt ?? 0;
      // The meeting's connection state, on the timeline too.
      if (window.__huddle.connection !== conn) {
        conn = window.__huddle.connection;
        window.__events.push([now, `signaling ${conn}`]);
      }
      for (const id of ids) {
        const t = w[id];
        if (killed && t.old === undefined) t.old = t.src;
        const v = document.querySelector(`.tile[data-peer-id="${id}"] video`);
        const n = v ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
        if (v !== t.el || v?.srcObject !== t.src) {
          // A new element or stream: its count starts again.
          [t.el, t.src, t.frames] = [v, v?.srcObject, n];
          continue;
        }
        if (n <= t.frames) continue;
        t.frames = n;
        if (killed && now > killed && t.src === t.old) continue;
        t.max = Math.max(t.max, now - t.last);
        t.last = now;
        if (killed && !t.back) t.back = now;
      }
      window.__watchTimer = setTimeout(tick, 20);
    };
    tick();
  }, ids);

/**
 * watched is what watchTiles saw of each tile: the longest gap, how long
 * ago the last frame was, when frames came back (ms after the kill, 0 if
 * not yet) and whether another came after that one.
 */
const watched = (page) =>
  page.evaluate(() => {
    const now = performance.now();
    const since = (t) => (t ? Math.round(t - window.__killedAt) : 0);
    return Object.fromEntries(Object.entries(window.__watch).map(([id, t]) => [id, { max: Math.round(t.max), ago: now - t.last, back: since(t.back), again: t.back > 0 && t.last > t.back }]));
  });

/**
 * markKill tells each page when the kill was, in its own clock: the test's
 * performance.now() at the kill (killed) less the time gone since then.
 * Every figure is measured on monotonic clocks; a page's is not the test's.
 */
const markKill = (people, killed) =>
  Promise.all(people.map((p) => p.page.evaluate((ago) => (window.__killedAt = performance.now() - ago), performance.now() - killed)));

/** eventsSince are the page's timeline entries since the kill, as "+ms what". */
const eventsSince = (page) =>
  page.evaluate(() => window.__events.filter(([t]) => t >= window.__killedAt).map(([t, what]) => `+${Math.round(t - window.__killedAt)} ${what}`));

/** sfuState is what a page holds: its SFU connections, the live ones among all it made, its direct ones. */
const sfuState = (page) =>
  page.evaluate(() => ({
    sfu: window.__huddle.sfuConnections().map((pc) => pc.connectionState),
    open: window.__pcs.filter((pc) => pc.connectionState !== "closed").length,
    made: window.__pcs.length,
    mesh: window.__huddle.peers().size,
  }));

/**
 * sfuPorts are the server ports of the page's SFU connections' selected
 * candidate pairs: the node whose SFU carries its media.
 */
const sfuPorts = (page) =>
  page.evaluate(async () => {
    const ports = [];
    for (const pc of window.__huddle.sfuConnections()) {
      const stats = await pc.getStats();
      let port = 0;
      stats.forEach((r) => {
        if (r.type !== "transport" || !r.selectedCandidatePairId) return;
        const pair = stats.get(r.selectedCandidatePairId);
        port = stats.get(pair?.remoteCandidateId)?.port ?? 0;
      });
      ports.push(port);
    }
    return ports;
  });

/** nodeOf is the node HAProxy's cookie sends p's requests to. */
const nodeOf = async (p) => (await p.context.cookies()).find((c) => c.name === "HUDDLE_NODE")?.value;

// --media sfu, and auto (the default: three people are on the SFU, and the
// new home hears of them one by one as they resume).
for (const mode of ["sfu", "auto"]) describe(`cluster (--media ${mode}): an SFU meeting whose home node is killed`, { skip }, () => {
  let redis, browser, haproxy, home;
  const people = [];
  const nodes = {};
  const room = `cluster-${mode}`;

  before(async () => {
    redis = await startRedis();
    for (const id of ["n1", "n2", "n3"]) {
      // Each node its own SFU ports, as two nodes on one machine need.
      const udp = await freeUdpPort();
      const tcp = await freePort();
      // --cluster-cookie "": the app is relayed, never moved to the home, as this test means.
      nodes[id] = await startNode(redis, id, ["--cluster-cookie", "", "--media", mode, "--sfu-udp", String(udp), "--sfu-tcp", String(tcp)]);
      nodes[id].sfuPorts = [udp, tcp];
    }
    haproxy = await startHAProxy([nodes.n1.port, nodes.n2.port, nodes.n3.port]);
    browser = await launchBrowser();
  });

  after(async () => {
    await closeAll(...people);
    await browser?.close();
    haproxy?.kill("SIGKILL");
    for (const n of Object.values(nodes)) await n.stop("SIGKILL");
    redis?.kill("SIGKILL");
  });

  /**
   * backIn waits until p lost the meeting after killed (the test's
   * performance.now()), then had it again; it returns how long after.
   */
  const backIn = (p, killed) =>
    poll(
      () =>
        p.page.evaluate((ago) => {
          const killed = performance.now() - ago;
          const states = window.__events.filter(([t, what]) => t > killed && what.startsWith("signaling "));
          const lost = states.findIndex(([, what]) => what !== "signaling connected");
          const back = lost >= 0 ? states.slice(lost).find(([, what]) => what === "signaling connected")?.[0] : undefined;
          return back === undefined ? 0 : Math.max(1, Math.round(back - killed));
        }, performance.now() - killed),
      { what: `${p.name} lost the meeting, then back in`, timeout: 30000 },
    );
  const killedNodes = new Set();

  const fail = async (err) => {
    console.log(dumpLogs(...people));
    for (const p of people) {
      const events = await p.page.evaluate(() => window.__events).catch(() => []);
      console.log(`${p.name}: ${events.map(([t, what]) => `${(t / 1000).toFixed(3)} ${what}`).join("; ")}`);
    }
    for (const [id, n] of Object.entries(nodes)) console.log(`--- ${id}\n${n.logs().split("\n").filter((l) => /sfu|media|cluster|resum|taken|room/i.test(l)).slice(-60).join("\n")}`);
    throw err;
  };

  test("every tile decodes through the home's SFU, sockets on both nodes", async () => {
    // Through HAProxy, each on the node its cookie names: Ada and Cy on
    // n1, Bob on n2. Whichever node is home, someone is relayed to it.
    for (const [name, node] of [["Ada", "n1"], ["Bob", "n2"], ["Cy", "n1"]]) {
      people.push(await join(browser, haproxy.url, room, name, { viewport: { width: 640, height: 480 }, setup: setup(haproxy.url, node) }));
    }
    try {
      for (const p of people) {
        p.node = await nodeOf(p);
        for (const q of people) if (q !== p) await expectTileFrames(p.page, q.id, { timeout: 60000 });
      }
      const homes = Object.keys(nodes).filter((id) => new RegExp(`meeting started.*room=${room}`).test(nodes[id].logs()));
      assert.equal(homes.length, 1, `the meeting started on ${homes.join(", ")}`);
      home = homes[0];
      console.log(`home ${home}; sockets: ${people.map((p) => `${p.name} on ${p.node}`).join(", ")}`);
      assert.deepEqual(people.map((p) => p.node), ["n1", "n2", "n1"], "each socket on the node its cookie names");
      for (const p of people) {
        // Two connections with the SFU, nothing else open (in auto mode,
        // the direct one of the first two closes after the move).
        await poll(async () => {
          const s = await sfuState(p.page);
          return s.sfu.join() === "connected,connected" && s.open === 2 && s.mesh === 0;
        }, { what: `${p.name}'s two SFU connections alone`, timeout: 10000 });
        // The home's own SFU address, wherever the socket is.
        for (const port of await sfuPorts(p.page)) assert.ok(nodes[home].sfuPorts.includes(port), `${p.name} reaches the SFU at port ${port}, ${home}'s are ${nodes[home].sfuPorts}`);
      }
    } catch (err) {
      await fail(err);
    }
  });

  test("kill -9 of a participant's node, not the home: the media goes on, nobody publishes again", async () => {
    assert.ok(home, "the first test found the home");
    // Bob's node, or Ada's and Cy's if Bob's is the home.
    const edge = home === "n2" ? "n1" : "n2";
    const moved = people.filter((p) => p.node === edge);
    const ids = people.map((p) => p.id);
    for (const p of people) await watchTiles(p.page, ids.filter((id) => id !== p.id));
    const made = await Promise.all(people.map((p) => p.page.evaluate(() => window.__pcs.length)));
    try {
      nodes[edge].proc.kill("SIGKILL");
      killedNodes.add(edge);
      const killed = performance.now();
      const rejoined = [];
      for (const p of moved) rejoined.push(`${p.name} ${await backIn(p, killed)} ms`);
      console.log(`${edge} killed (the home is ${home}); back in the meeting after: ${rejoined.join(", ")}`);
      // Their SFU connections never needed the killed node: the home keeps
      // them, says so (sfu-view answered), and the pictures never stop.
      await new Promise((r) => setTimeout(r, 2000));
      for (const p of people) {
        for (const [id, t] of Object.entries(await watched(p.page))) {
          const from = people.find((q) => q.id === id).name;
          console.log(`${from}'s tile at ${p.name}: longest gap ${t.max} ms`);
          assert.ok(t.max < 1000 && t.ago < 1000, `${from}'s tile at ${p.name} froze (${t.max} ms without a frame, the last ${Math.round(t.ago)} ms ago)`);
        }
        const s = await sfuState(p.page);
        assert.deepEqual([s.sfu.join(), s.open, s.made, s.mesh], ["connected,connected", 2, made[people.indexOf(p)], 0], `${p.name}'s connections: ${JSON.stringify(s)}`);
        for (const port of await sfuPorts(p.page)) assert.ok(nodes[home].sfuPorts.includes(port), `${p.name} reaches the SFU at port ${port}, ${home}'s are ${nodes[home].sfuPorts}`);
        assert.doesNotMatch((await p.page.locator("#announcer").textContent()) ?? "", /left/, `${p.name} was told someone left`);
      }
    } catch (err) {
      await fail(err);
    }
  });

  test("kill -9 of the home: everyone publishes to the new home, pictures back at once", async () => {
    assert.ok(home && killedNodes.size === 1, "the tests before found the home and killed a participant's node");
    const ids = people.map((p) => p.id);
    for (const p of people) await watchTiles(p.page, ids.filter((id) => id !== p.id));
    // The surviving node takes the meeting over, and says so in its log.
    const other = Object.keys(nodes).find((id) => id !== home && !killedNodes.has(id));
    const takenOver = nodes[other].seen(new RegExp(`meeting taken over from another node.* room=${room} `));
    try {
      nodes[home].proc.kill("SIGKILL");
      killedNodes.add(home);
      const killed = performance.now();
      console.log(`home ${home} killed at ${new Date().toISOString()}`);
      await markKill(people, killed);
      // Each is in the meeting again once its connection was lost, then
      // connected (a socket relayed through the surviving node is lost
      // only when that node finds the home dead or takes the meeting).
      const rejoined = [];
      for (const p of people) rejoined.push(`${p.name} ${await backIn(p, killed)} ms`);
      console.log(`home ${home} killed; back in the meeting after: ${rejoined.join(", ")}`);
      // Every remote tile shows new frames: the media came back.
      await poll(async () => {
        for (const p of people) {
          const w = await watched(p.page);
          // A picture on the new path, and another frame after it.
          if (Object.values(w).some((t) => !t.again)) return false;
        }
        return true;
      }, { what: "new frames in every tile", timeout: 30000, interval: 100 });
      const figures = [];
      for (const p of people) {
        for (const [id, t] of Object.entries(await watched(p.page))) {
          const from = people.find((q) => q.id === id).name;
          figures.push({ at: p.name, from, gap: t.max, back: t.back });
        }
      }
      for (const f of figures) console.log(`${f.from}'s tile at ${f.at}: longest gap ${f.gap} ms, frames back ${f.back} ms after the kill`);
      for (const p of people) console.log(`${p.name}: ${(await eventsSince(p.page)).join("; ")}`);
      // When the new home's log said it took the meeting over (it has, or
      // no frames would have come back).
      const takeover = Math.round((await Promise.race([takenOver, new Promise((r) => setTimeout(r, 1000, NaN))])) - killed);
      assert.ok(takeover > 0, `${other}'s log says it took the meeting over`);
      const worst = Math.max(...figures.map((f) => f.back));
      console.log(`meeting taken over by ${other} ${takeover} ms after the kill; media back ${(worst / 1000).toFixed(1)} s after the kill (the last tile), ${worst - takeover} ms after the takeover`);
      assert.ok(takeover < takeoverMs, `the meeting was taken over ${takeover} ms after the kill`);
      for (const f of figures) assert.ok(f.back - takeover < afterTakeoverMs, `${f.from}'s tile at ${f.at}: frames back ${f.back - takeover} ms after the takeover`);
      for (const p of people) {
        assert.equal(await p.page.evaluate(() => window.__huddle.selfId), p.id, `${p.name} resumed under the same id`);
        assert.equal(await p.page.locator(".tile").count(), 3, `${p.name} sees three tiles`);
        assert.doesNotMatch((await p.page.locator("#announcer").textContent()) ?? "", /left/, `${p.name} was told someone left`);
        // One publishing and one subscribing connection, to the new
        // home's SFU; the old ones closed, nothing else open.
        await poll(async () => {
          const s = await sfuState(p.page);
          return s.sfu.join() === "connected,connected" && s.open === 2 && s.mesh === 0 ? s : null;
        }, { what: `${p.name}: two SFU connections, nothing else open`, timeout: 10000 });
        for (const port of await sfuPorts(p.page)) assert.ok(nodes[other].sfuPorts.includes(port), `${p.name} reaches the SFU at port ${port}, ${other}'s are ${nodes[other].sfuPorts}`);
      }
    } catch (err) {
      await fail(err);
    }
  });
});

// A rolling restart of the three nodes under an SFU meeting: each node in
// turn gets SIGTERM (it drains, sends its clients away and gives its
// meetings up) and starts again under the same id and ports. A meeting's
// media lives in its home's SFU, so when the home goes the meeting moves:
// everyone publishes again to the node that takes it over. The issue asks
// for at most one reconnect per restarted node, nobody shown leaving, and
// the same media target as after a kill (back within 5 s).
describe("cluster (--media sfu): a rolling restart of the three nodes", { skip }, () => {
  let redis, browser, haproxy;
  const people = [];
  const nodes = {};
  const args = {};
  const room = "cluster-rolling";

  before(async () => {
    redis = await startRedis();
    for (const id of ["n1", "n2", "n3"]) {
      // Relayed, one socket per node (--cluster-cookie ""): every restart
      // sends someone away.
      args[id] = ["--cluster-cookie", "", "--media", "sfu", "--sfu-udp", String(await freeUdpPort()), "--sfu-tcp", String(await freePort()), "--shutdown-delay", "500ms"];
      nodes[id] = await startNode(redis, id, args[id]);
    }
    haproxy = await startHAProxy([nodes.n1.port, nodes.n2.port, nodes.n3.port]);
    browser = await launchBrowser();
  });

  after(async () => {
    await closeAll(...people);
    await browser?.close();
    haproxy?.kill("SIGKILL");
    for (const n of Object.values(nodes)) await n.stop("SIGKILL");
    redis?.kill("SIGKILL");
  });

  const sockets = (p) => p.page.evaluate(() => window.__sockets);
  const stopped = {}; // the nodes that were restarted, by id
  // The home is the node whose SFU the media goes through.
  const isHome = async (id) => (await sfuPorts(people[0].page)).some((port) => args[id].includes(String(port)));

  test("each node restarted in turn: one reconnect at most, media back, nobody leaves", async () => {
    for (const [name, node] of [["Ada", "n1"], ["Bob", "n2"], ["Cy", "n3"]]) {
      people.push(await join(browser, haproxy.url, room, name, { viewport: { width: 640, height: 480 }, setup: setup(haproxy.url, node) }));
    }
    const ids = people.map((p) => p.id);
    try {
      for (const p of people) {
        p.node = await nodeOf(p);
        for (const q of people) if (q !== p) await expectTileFrames(p.page, q.id, { timeout: 60000 });
      }
      for (const id of ["n1", "n2", "n3"]) {
        const before = await Promise.all(people.map(sockets));
        for (const p of people) await watchTiles(p.page, ids.filter((x) => x !== p.id));
        const wasHome = await isHome(id);
        const sigterm = performance.now();
        await nodes[id].stop("SIGTERM");
        stopped[id] = nodes[id]; // its logs explain a slow handover
        nodes[id] = await startNode(redis, id, args[id], { port: nodes[id].port });
        await routedTo(haproxy, id);
        // Who had to reconnect has: the participants of the restarted node,
        // and everyone when it was the home (the meeting moved).
        for (const [i, p] of people.entries()) {
          if (!wasHome && p.node !== id) continue;
          await poll(async () => (await sockets(p)) > before[i] && (await p.page.evaluate(() => window.__huddle.connection)) === "connected", { what: `${p.name} back in the meeting`, timeout: 30000 });
        }
        // Every tile has had a frame in the last half second everywhere.
        await poll(async () => {
          for (const p of people) {
            if (Object.values(await watched(p.page)).some((t) => t.ago > 500)) return false;
          }
          return true;
        }, { what: "frames in every tile after the restart", timeout: 30000, interval: 100 });
        // A second reconnect would come within a moment.
        await new Promise((r) => setTimeout(r, 1500));
        const figures = [];
        for (const [i, p] of people.entries()) {
          p.node = await nodeOf(p);
          const reconnects = (await sockets(p)) - before[i];
          const gaps = Object.values(await watched(p.page)).map((t) => t.max);
          figures.push(`${p.name} ${reconnects} reconnect(s), longest tile gap ${Math.max(...gaps)} ms`);
          assert.ok(reconnects <= 1, `${p.name} reconnected ${reconnects} times while ${id} restarted`);
          assert.ok(Math.max(...gaps) < 5000, `${p.name}: a tile froze ${Math.max(...gaps)} ms while ${id} restarted`);
          assert.equal(await p.page.evaluate(() => window.__huddle.selfId), p.id, `${p.name} kept its id`);
          assert.equal(await p.page.locator(".tile").count(), 3, `${p.name} sees three tiles`);
          assert.doesNotMatch((await p.page.locator("#announcer").textContent()) ?? "", /left/, `${p.name} was told someone left`);
        }
        console.log(`${id} restarted (${wasHome ? "the meeting's home" : "not the home"}), back ${Math.round(performance.now() - sigterm)} ms after SIGTERM with frames everywhere: ${figures.join("; ")}`);
      }
    } catch (err) {
      console.log(dumpLogs(...people));
      for (const [id, n] of [...Object.entries(stopped).map(([id, n]) => [`${id} (stopped)`, n]), ...Object.entries(nodes)]) console.log(`--- ${id}\n${n.logs().split("\n").filter((l) => /sfu|media|cluster|resum|taken|room|drain|leav|shut|stop|given|closed/i.test(l)).slice(-40).join("\n")}`);
      throw err;
    }
  });
});
