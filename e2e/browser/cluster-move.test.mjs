// The web app moves to its meeting's home node (real redis-server and
// HAProxy, nodes in their own processes): a browser whose HAProxy cookie
// sends it to a node that is not the meeting's home is told so in its join
// ack (moved), sets the cookie to the home, reconnects and joins there, so
// that its socket is held once, on the home, rather than relayed. Nobody
// sees a reconnect; the call and the chat work. When the home then dies,
// both resume on the other node under their ids (a resume is not moved).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { skipCluster as skip, startHAProxy, startNode, startRedis } from "../lib/cluster.mjs";
import { closeAll, dumpLogs, expectTileFrames, join, launchBrowser, poll } from "../lib/browser.mjs";

/** relayedSockets is a node's huddle_cluster_relayed_sockets, both sides summed. */
async function relayedSockets(node) {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^huddle_cluster_relayed_sockets\{side="\w+"\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

/** withNode puts HAProxy's cookie for node in a participant's browser before the page loads. */
const withNode = (url, node) => async (context) => {
  await context.addCookies([{ name: "HUDDLE_NODE", value: node, url }]);
};

describe("cluster: the web app moves to its meeting's home", { skip }, () => {
  let redis, browser, haproxy, ada, bob;
  const nodes = {};

  before(async () => {
    redis = await startRedis();
    for (const id of ["n1", "n2"]) nodes[id] = await startNode(redis, id, ["--media", "mesh"]);
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

  const nodeOf = async (p) => {
    const cookies = (await p.context.cookies()).filter((c) => c.name === "HUDDLE_NODE");
    assert.equal(cookies.length, 1, `${p.name} holds one node cookie: ${JSON.stringify(cookies)}`);
    return cookies[0].value;
  };

  test("a newcomer sent to the other node ends up on the home, nothing relayed", async () => {
    const room = "cluster-move";
    try {
      ada = await join(browser, haproxy.url, room, "Ada", { setup: withNode(haproxy.url, "n1") });
      // A new meeting may be placed on either node; Ada is on its home
      // either way (moved there if it was placed on n2).
      const home = await nodeOf(ada);
      const away = home === "n1" ? "n2" : "n1";
      assert.match(nodes[home].logs(), new RegExp(`meeting started.*room=${room}`), `the meeting's home is Ada's node ${home}`);
      bob = await join(browser, haproxy.url, room, "Bob", { setup: withNode(haproxy.url, away) });
      assert.equal(await nodeOf(bob), home, "Bob's cookie names the home now");
      await expectTileFrames(bob.page, ada.id);
      await expectTileFrames(ada.page, bob.id);
      // Both sockets on the home: no node relays one, and the node Bob
      // reached first sent him on without keeping anything.
      for (const [id, n] of Object.entries(nodes)) assert.equal(await relayedSockets(n), 0, `sockets relayed by or for ${id}`);
      assert.doesNotMatch(nodes[away].logs(), new RegExp(`participant joined.*room=${room}`), `nobody joined on ${away}`);
      assert.match(nodes[home].logs(), new RegExp(`participant joined" room=${room} participant=${bob.id}`), "Bob joined on the home");
      // No reconnect shown.
      for (const p of [ada, bob]) {
        assert.equal(await p.page.evaluate(() => window.__huddle.connection), "connected");
        assert.doesNotMatch((await p.page.locator("#announcer").textContent()) ?? "", /reconnect/i);
      }
      await bob.page.locator("#ctl-chat").click();
      await bob.page.locator("#chat-input").fill("hello from the home");
      await bob.page.keyboard.press("Enter");
      await ada.page.locator("#ctl-chat").click();
      await poll(async () => (await ada.page.locator(".chat-list").textContent())?.includes("hello from the home"), { what: "Ada gets Bob's message" });
      console.log(`home ${home}: Bob sent there from ${away}`);

      // The home dies: both reconnect through HAProxy to the other node
      // (their cookie names a node that is down), which takes the meeting
      // over; they resume there under the same ids, not moved again.
      const ids = { ada: ada.id, bob: bob.id };
      const mark = nodes[away].logs().length;
      assert.match(nodes[away].logs(), /client sent to its meeting's home/, `${away} logged Bob's move`);
      await nodes[home].stop("SIGKILL");
      for (const p of [ada, bob]) {
        await poll(() => p.page.evaluate(() => window.__huddle.connection !== "connected"), { what: `${p.name} lost the home`, timeout: 10000, interval: 20 });
      }
      for (const p of [ada, bob]) {
        await poll(() => p.page.evaluate(() => window.__huddle.connection === "connected"), { what: `${p.name} back in`, timeout: 30000 });
      }
      assert.deepEqual({ ada: await ada.page.evaluate(() => window.__huddle.selfId), bob: await bob.page.evaluate(() => window.__huddle.selfId) }, ids, "the same ids");
      const since = nodes[away].logs().slice(mark);
      assert.match(since, new RegExp(`participant resumed.*room=${room}`), `resumed on ${away}`);
      assert.doesNotMatch(since, /client sent to its meeting's home/, "a resume is not moved");
      await ada.page.locator("#chat-input").fill("after the home died");
      await ada.page.keyboard.press("Enter");
      await poll(async () => (await bob.page.locator(".chat-list").textContent())?.includes("after the home died"), { what: "Bob gets Ada's message" });
      console.log(`home ${home} killed: both resumed on ${away}, same ids`);
    } catch (err) {
      console.log(dumpLogs(...[ada, bob].filter(Boolean)));
      for (const [id, n] of Object.entries(nodes)) console.log(`--- ${id}\n${n.logs().split("\n").slice(-40).join("\n")}`);
      throw err;
    }
  });
});
