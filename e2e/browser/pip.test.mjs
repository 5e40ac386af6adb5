// Picture-in-picture: from the meeting's menu, the speaker opens in a small
// window of its own (Document Picture-in-Picture in Chromium) that shows
// the other person's video with frames coming, their name, and a
// microphone button that mutes us in the meeting.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, join, launchBrowser, poll } from "../lib/browser.mjs";

describe("picture-in-picture", () => {
  let server, browser, ada, bob;
  const room = "pip-room";

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

  // pipState reads the small window of Ada's page.
  const pipState = () =>
    ada.page.evaluate(() => {
      const w = window.documentPictureInPicture?.window;
      if (!w) return null;
      const v = w.document.querySelector("video");
      return {
        id: v?.dataset.peerId ?? "",
        width: v?.videoWidth ?? 0,
        frames: v?.getVideoPlaybackQuality().totalVideoFrames ?? 0,
        name: w.document.querySelector(".name")?.textContent ?? "",
        mic: w.document.querySelector("button")?.getAttribute("aria-pressed"),
      };
    });

  test("the speaker in a small window, with frames, name and microphone", async () => {
    try {
      assert.equal(await ada.page.evaluate(() => "documentPictureInPicture" in window), true, "Chromium has Document Picture-in-Picture");
      await ada.page.getByRole("button", { name: "Change layout" }).click();
      await ada.page.locator("#layout-menu").getByRole("button", { name: "Picture in picture" }).click();
      const first = await poll(async () => {
        const s = await pipState();
        return s && s.width > 0 ? s : null;
      }, { what: "Bob's video in the window" });
      assert.equal(first.id, bob.id);
      assert.equal(first.name, "Bob");
      await poll(async () => (await pipState()).frames > first.frames, { what: "frames still coming in the window" });
      // The window's microphone button mutes Ada in the meeting.
      assert.equal(first.mic, "true");
      await ada.page.evaluate(() => window.documentPictureInPicture.window.document.querySelector("button").click());
      await poll(async () => (await pipState()).mic === "false", { what: "the window's button shows muted" });
      await poll(async () => (await bob.page.locator(`.tile[data-peer-id="${ada.id}"]`).getAttribute("data-audio")) === "off", { what: "Bob sees Ada muted" });
    } catch (err) {
      console.log(dumpLogs(ada, bob));
      throw err;
    }
  });
});
