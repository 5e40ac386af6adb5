// A two-person call with --force-relay in real Chromium: the server tells
// both browsers to relay everything, media flows, and the candidate pair
// each side uses is relay to relay, so neither learns the other's address.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser } from "../lib/browser.mjs";

/**
 * selectedPairs reads, for each peer connection of a page, the candidate
 * pair in use: the transport's selectedCandidatePairId, or else the
 * nominated succeeded pair.
 */
function selectedPairs(page) {
  return page.evaluate(async () => {
    const out = {};
    for (const [id, pc] of window.__huddle.peers()) {
      const stats = await pc.getStats();
      let pairId = "";
      stats.forEach((s) => {
        if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      if (!pairId) {
        stats.forEach((s) => {
          if (!pairId && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pairId = s.id;
        });
      }
      const pair = stats.get(pairId);
      const local = pair && stats.get(pair.localCandidateId);
      const remote = pair && stats.get(pair.remoteCandidateId);
      // Every candidate this side gathered or was given, to prove no host
      // or server-reflexive address was exchanged at all.
      const types = new Set();
      stats.forEach((s) => {
        if (s.type === "local-candidate" || s.type === "remote-candidate") types.add(`${s.type}:${s.candidateType}`);
      });
      out[id] = {
        policy: pc.getConfiguration().iceTransportPolicy,
        state: pair?.state ?? "",
        local: local?.candidateType ?? "",
        remote: remote?.candidateType ?? "",
        bytesReceived: pair?.bytesReceived ?? 0,
        types: [...types].sort(),
      };
    }
    return out;
  });
}

describe("forced relay", () => {
  let server, browser, ada, bob;
  const room = "relay-only-room";

  before(async () => {
    server = await startServer({ turn: true, args: ["--force-relay"] });
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    bob = await join(browser, server.url, room, "Bob");
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
  });

  test("video and audio flow both ways through the relay", async () => {
    try {
      // framesDecoded and audio packetsReceived grow between two reads.
      await expectMediaFrom(ada.page, [bob.id]);
      await expectMediaFrom(bob.page, [ada.id]);
    } catch (err) {
      console.log(dumpLogs(ada, bob), server.logs().slice(-4000));
      throw err;
    }
  });

  test("both sides use a relay-to-relay candidate pair", async () => {
    for (const [me, other] of [
      [ada, bob],
      [bob, ada],
    ]) {
      const pairs = await selectedPairs(me.page);
      const p = pairs[other.id];
      assert.ok(p, `${me.name} has a peer connection to ${other.name}`);
      assert.equal(p.policy, "relay", `${me.name} was told to relay`);
      assert.equal(p.state, "succeeded", `${me.name}'s pair state`);
      assert.equal(p.local, "relay", `${me.name}'s local candidate`);
      assert.equal(p.remote, "relay", `${me.name}'s remote candidate`);
      assert.ok(p.bytesReceived > 0, `${me.name} received bytes on the pair`);
      assert.deepEqual(
        p.types.filter((t) => !t.endsWith(":relay")),
        [],
        `${me.name} saw only relay candidates`,
      );
    }
  });

  test("the relay carries the call: allocations are open on the server", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const m = /^huddle_turn_allocations (\S+)$/m.exec(text);
    assert.ok(m, "the relay reports its allocations");
    assert.ok(Number(m[1]) >= 2, `at least one allocation per side, got ${m[1]}`);
  });
});
