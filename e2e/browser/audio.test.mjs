// Voice processing switches: noise suppression and echo cancellation are
// switched from the meeting's menu without rejoining; the other side keeps
// hearing us, and the choice is remembered for the next meeting.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, poll } from "../lib/browser.mjs";

const micSettings = (p) => p.page.evaluate(() => window.__huddle.localTracks().find((t) => t.kind === "audio"));

async function toggle(p, name) {
  await p.page.getByRole("button", { name: "Change layout" }).click();
  const item = p.page.locator("#layout-menu").getByRole("button", { name });
  const before = await item.getAttribute("aria-pressed");
  await item.click();
  await poll(async () => (await item.getAttribute("aria-pressed")) !== before, { what: `${name} switched` });
  await p.page.keyboard.press("Escape");
}

describe("voice processing switches", () => {
  let server, browser, ada, bob;
  const room = "audio-room";

  before(async () => {
    server = await startServer({ args: ["--media", "mesh"] });
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    bob = await join(browser, server.url, room, "Bob");
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
  });

  test("switched during the call, heard all along, remembered", async () => {
    try {
      assert.deepEqual(await micSettings(ada).then((s) => [s.noiseSuppression, s.echoCancellation]), [true, true]);
      await toggle(ada, "Noise suppression");
      await poll(async () => (await micSettings(ada)).noiseSuppression === false, { what: "noise suppression off on the microphone" });
      await toggle(ada, "Echo cancellation");
      await poll(async () => (await micSettings(ada)).echoCancellation === false, { what: "echo cancellation off on the microphone" });
      const mic = await micSettings(ada);
      assert.equal(mic.readyState, "live");
      assert.equal(mic.enabled, true);
      // Bob still hears Ada: her audio packets keep arriving.
      await expectMediaFrom(bob.page, [ada.id], { video: false });
      // The next meeting in this browser starts with the same choice.
      await ada.page.getByRole("button", { name: "Leave meeting" }).click();
      await ada.page.goto(`${server.url}/${room}`, { waitUntil: "domcontentloaded" });
      await ada.page.locator("#name").fill("Ada");
      await ada.page.getByRole("button", { name: /Join/ }).click();
      await ada.page.waitForSelector(".meeting", { timeout: 15000 });
      const again = await micSettings(ada);
      assert.deepEqual([again.noiseSuppression, again.echoCancellation], [false, false]);
    } catch (err) {
      console.log(dumpLogs(ada, bob));
      throw err;
    }
  });
});
