// Measures the time from pressing Join to the first decoded remote video
// frame, over 10 two-person calls on loopback, and prints the median. It
// checks that each call worked; it does not assert on the time.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, join, launchBrowser, openPrejoin, poll } from "../lib/browser.mjs";

const calls = Number(process.env.HUDDLE_LATENCY_CALLS ?? 10);
let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test(`time from Join to first remote frame, median of ${calls} calls`, async () => {
  const samples = [];
  for (let i = 0; i < calls; i++) {
    const room = `latency-${i}-${Date.now()}`;
    const host = await join(browser, server.url, room, "Host");
    const guest = await openPrejoin(browser, server.url, room, "Guest");
    try {
      const joinBtn = guest.page.getByRole("button", { name: /Join/ });
      await joinBtn.waitFor();
      await poll(() => joinBtn.isEnabled(), { what: "Join enabled" });
      // Measured in the page: performance.now() at the click and at the
      // first frame callback of the remote video.
      await guest.page.evaluate(() => {
        document.getElementById("join").addEventListener("click", () => (window.__joinAt = performance.now()), { capture: true });
      });
      await joinBtn.click();
      const ms = await guest.page.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const deadline = setTimeout(() => reject(new Error("no remote frame in 30 s")), 30000);
            const watch = () => {
              const v = document.querySelector('.tile[data-self="false"] video');
              if (!v) return setTimeout(watch, 5);
              v.requestVideoFrameCallback(() => {
                clearTimeout(deadline);
                resolve(performance.now() - window.__joinAt);
              });
            };
            watch();
          }),
      );
      samples.push(ms);
    } finally {
      await closeAll(host, guest);
    }
  }
  assert.equal(samples.length, calls);
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  // p90 by the nearest-rank method: with 10 samples, the 9th smallest.
  const p90 = sorted[Math.ceil(0.9 * sorted.length) - 1];
  console.log(`join-to-first-remote-frame: median ${median.toFixed(0)} ms, p90 ${p90.toFixed(0)} ms over ${calls} calls (min ${sorted[0].toFixed(0)}, max ${sorted.at(-1).toFixed(0)}; samples ${samples.map((s) => s.toFixed(0)).join(", ")})`);
});
