// Measures the time from pressing Join to the first decoded video frame
// of every other participant, on loopback, and prints the median, p90 and
// worst for four cases: the second person of a peer-to-peer call and of a
// call through the SFU, the third person of a mesh meeting, and the third
// person of a meeting on the SFU; and how soon the others show a frame of
// the joiner, since a join that favours the joiner's view must not cost
// the others much. It
// checks that each join worked; it does not assert on the time (make
// bench judges the figures).
//
// Each participant has a browser of its own, as people do. In one browser
// all contexts share one fake capture device, and it stalls every
// context's camera for 150-450 ms whenever another context joins: with
// one shared browser, the third joiner's first frames came 0.9-1.0 s
// later than with one browser each (measured 2026-12-07: mesh 1,567 ms
// against 636 ms, SFU 1,353 ms against 568 ms, medians).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, join, launchBrowser, openPrejoin, poll } from "../lib/browser.mjs";

// make test runs a few joins per case to prove they work; make bench runs 10.
const calls = Number(process.env.HUDDLE_LATENCY_CALLS ?? 3);

/**
 * joinAndTime presses Join on a prepared page and resolves with the time
 * until a frame of each of `others` remote tiles has been shown.
 */
async function joinAndTime(p, others, inRoom = []) {
  // The others' side: the wall-clock time at which each first shows a
  // frame of a tile that was not there before (the joiner's).
  for (const o of inRoom) {
    await o.page.evaluate(() => {
      const before = new Set([...document.querySelectorAll('.tile[data-self="false"]')].map((t) => t.dataset.peerId));
      window.__joinerSeen = new Promise((resolve) => {
        const watch = () => {
          for (const v of document.querySelectorAll('.tile[data-self="false"] video')) {
            const id = v.closest(".tile").dataset.peerId;
            if (!before.has(id) && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 0) return resolve(Date.now());
          }
          setTimeout(watch, 20); // coarser than the joiner's 5 ms: less load on the shared cores
        };
        watch();
      });
    });
  }
  const joinBtn = p.page.getByRole("button", { name: /Join/ });
  await joinBtn.waitFor();
  await poll(() => joinBtn.isEnabled(), { what: "Join enabled" });
  // Measured in the page: performance.now() at the click and at the
  // moment the last remote tile has shown a frame.
  await p.page.evaluate((others) => {
    window.__firstFrames = new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error("not every remote tile showed a frame in 30 s")), 30000);
      const seen = new Set();
      // Polled every few ms rather than by requestVideoFrameCallback: a
      // tile's video that gets a new stream, or is moved in the page by a
      // new layout, loses the callbacks asked before.
      const watch = () => {
        for (const v of document.querySelectorAll('.tile[data-self="false"] video')) {
          if (v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 0) seen.add(v.closest(".tile").dataset.peerId);
        }
        if (seen.size >= others) {
          clearTimeout(deadline);
          resolve(performance.now() - window.__joinAt);
          return;
        }
        setTimeout(watch, 5);
      };
      document.getElementById("join").addEventListener(
        "click",
        () => {
          window.__joinAt = performance.now();
          watch();
        },
        { capture: true },
      );
    });
  }, others);
  await joinBtn.click();
  const sees = await p.page.evaluate(() => window.__firstFrames);
  const clickedAt = await p.page.evaluate(() => performance.timeOrigin + window.__joinAt);
  const seenBy = [];
  for (const o of inRoom) {
    const at = await o.page.evaluate(() => Promise.race([window.__joinerSeen, new Promise((r) => setTimeout(() => r(0), 30000))]));
    assert.ok(at > 0, "an earlier participant never showed a frame of the joiner");
    seenBy.push(at - clickedAt);
  }
  return { sees, seen: Math.max(0, ...seenBy) };
}

function report(what, samples) {
  if (samples.length === 0) return;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  // p90 by the nearest-rank method: with 10 samples, the 9th smallest.
  const p90 = sorted[Math.ceil(0.9 * sorted.length) - 1];
  console.log(
    `join-to-first-remote-frame (${what}): median ${median.toFixed(0)} ms, p90 ${p90.toFixed(0)} ms, max ${sorted.at(-1).toFixed(0)} ms over ${samples.length} joins (samples ${samples.map((s) => s.toFixed(0)).join(", ")})`,
  );
}

/**
 * scenario: `people - 1` participants are in the room; the last one's
 * join is timed, `calls` times, each in a new room.
 */
function scenario(what, media, people) {
  describe(what, () => {
    let server;
    const browsers = [];
    before(async () => {
      server = await startServer({ args: ["--media", media] });
      for (let k = 0; k < people; k++) browsers.push(await launchBrowser());
    });
    after(async () => {
      for (const b of browsers) await b.close();
      await server?.stop();
    });
    test(`time from Join to a frame of everyone, ${calls} joins`, async () => {
      const samples = [];
      const seen = [];
      for (let i = 0; i < calls; i++) {
        const room = `latency-${media}-${people}-${i}-${Date.now()}`;
        const inRoom = [];
        let last;
        try {
          for (let k = 1; k < people; k++) inRoom.push(await join(browsers[k - 1], server.url, room, `P${k}`));
          last = await openPrejoin(browsers[people - 1], server.url, room, `P${people}`);
          const t = await joinAndTime(last, people - 1, inRoom);
          samples.push(t.sees);
          seen.push(t.seen);
        } finally {
          await closeAll(...inRoom, last);
        }
      }
      assert.equal(samples.length, calls);
      report(what, samples);
      report(`${what}: the others see the joiner`, seen);
    });
  });
}

scenario("2nd of 2, peer to peer", "auto", 2);
scenario("2nd of 2, SFU", "sfu", 2);
scenario("3rd of 3, mesh", "mesh", 3);
scenario("3rd of 3, SFU", "sfu", 3);
