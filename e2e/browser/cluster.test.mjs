// A call through a two-node cluster behind HAProxy (real redis-server and
// HAProxy, nodes in their own processes) keeps its picture when the
// meeting's home node is killed with kill -9: the browsers' direct
// connection carries on without an ICE restart, their signaling reconnects
// through HAProxy to the other node, which takes the meeting over and
// resumes them under the same ids; nobody is shown leaving, and the chat
// works on.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { skipCluster as skip, startHAProxy, startNode, startRedis } from "../lib/cluster.mjs";
import { closeAll, dumpLogs, expectTileFrames, join, launchBrowser, poll } from "../lib/browser.mjs";


/** watchFrames records, in page, the longest time without a new frame in id's tile. */
const watchFrames = (page, id) =>
  page.evaluate((id) => {
    const w = (window.__watch = { max: 0, last: performance.now(), frames: 0 });
    const tick = () => {
      const v = document.querySelector(`.tile[data-peer-id="${id}"] video`);
      const n = v ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
      const now = performance.now();
      if (n > w.frames) {
        w.max = Math.max(w.max, now - w.last);
        w.last = now;
        w.frames = n;
      }
      w.timer = setTimeout(tick, 20);
    };
    tick();
  }, id);

describe("cluster: a home node killed during a call", { skip }, () => {
  let redis, browser, ada, bob, haproxy;
  const nodes = {};

  before(async () => {
    redis = await startRedis();
    // --cluster-cookie "": the app is relayed, never moved to the home, as this test means.
    for (const id of ["n1", "n2"]) nodes[id] = await startNode(redis, id, ["--media", "mesh", "--cluster-cookie", ""]);
    haproxy = await startHAProxy([nodes.n1.port, nodes.n2.port]);
    browser = await launchBrowser();
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    haproxy?.kill("SIGKILL");
    for (const n of Object.values(nodes)) await n.stop("SIGKILL");
    redis?.kill("SIGKILL");
  });

  test("the picture goes on, the same ids resume, nobody leaves", async () => {
    const room = "cluster-call";
    ada = await join(browser, haproxy.url, room, "Ada");
    bob = await join(browser, haproxy.url, room, "Bob");
    try {
      await expectTileFrames(bob.page, ada.id);
      await expectTileFrames(ada.page, bob.id);
      // Ada came first: her node is the meeting's home.
      const home = (await ada.context.cookies()).find((c) => c.name === "HUDDLE_NODE")?.value;
      assert.ok(nodes[home], `Ada's node cookie: ${home}`);
      const ufrag = () => bob.page.evaluate(() => [...window.__huddle.peers().values()][0]?.localDescription?.sdp.match(/a=ice-ufrag:(\S+)/)?.[1]);
      const before = { ada: ada.id, bob: bob.id, ufrag: await ufrag() };
      await watchFrames(bob.page, ada.id);

      nodes[home].proc.kill("SIGKILL");
      const killed = Date.now();
      // Ada's socket was on the killed node: she notices, then reconnects.
      await poll(() => ada.page.evaluate(() => window.__huddle.connection !== "connected"), { what: "Ada's signaling lost", timeout: 10000, interval: 10 });
      for (const p of [ada, bob]) {
        await poll(() => p.page.evaluate(() => window.__huddle.connection === "connected"), { what: `${p.name} connected again`, timeout: 30000 });
        await poll(async () => (await p.page.locator(".tile").count()) === 2, { what: `${p.name} sees two tiles` });
      }
      console.log(`home node ${home} killed: both connected again after ${Date.now() - killed} ms`);
      assert.deepEqual(
        { ada: await ada.page.evaluate(() => window.__huddle.selfId), bob: await bob.page.evaluate(() => window.__huddle.selfId), ufrag: await ufrag() },
        before,
        "the same ids, the same direct connection (no ICE restart)",
      );
      await expectTileFrames(bob.page, ada.id);
      const gap = await bob.page.evaluate(() => Math.round(window.__watch.max));
      console.log(`longest time without a new frame of Ada at Bob: ${gap} ms`);
      assert.ok(gap < 1000, `Ada's picture froze ${gap} ms at Bob`);
      for (const p of [ada, bob]) assert.doesNotMatch((await p.page.locator("#announcer").textContent()) ?? "", /left/);
      // The meeting's signaling lives on, on the other node.
      await ada.page.locator("#ctl-chat").click();
      await ada.page.locator("#chat-input").fill("after the kill");
      await ada.page.keyboard.press("Enter");
      await bob.page.locator("#ctl-chat").click();
      await poll(async () => (await bob.page.locator(".chat-list").textContent())?.includes("after the kill"), { what: "Bob gets Ada's message" });
    } catch (err) {
      console.log(dumpLogs(ada, bob));
      for (const [id, n] of Object.entries(nodes)) console.log(`--- ${id}\n${n.logs().split("\n").slice(-40).join("\n")}`);
      throw err;
    }
  });
});
