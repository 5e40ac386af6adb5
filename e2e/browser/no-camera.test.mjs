// A participant whose camera and microphone are refused can still join,
// is told why, and sees and hears the others.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, mediaStats, poll } from "../lib/browser.mjs";

describe("no camera permission", () => {
  let server, browser, ada, guest;
  const room = "nocam-room";

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
  });

  after(async () => {
    await closeAll(ada, guest);
    await browser?.close();
    await server?.stop();
  });

  test("joins, is told why, and receives everything", async () => {
    guest = await join(browser, server.url, room, "Guest Without Camera", { denyMedia: true });
    try {
      await expectMediaFrom(guest.page, [ada.id]);
    } catch (err) {
      console.log(dumpLogs(ada, guest));
      throw err;
    }
    // The others see a tile with both indicators and receive no media from the guest.
    const tile = ada.page.locator(`.tile[data-peer-id="${guest.id}"]`);
    await poll(async () => (await tile.getAttribute("data-video")) === "off" && (await tile.getAttribute("data-audio")) === "off", { what: "guest indicators" });
    const fromGuest = (await mediaStats(ada.page))[guest.id];
    assert.equal(fromGuest.framesDecoded, 0);
    // The guest's controls say the devices are off.
    assert.ok(await guest.page.getByRole("button", { name: "Turn on camera" }).isVisible());
    assert.ok(await guest.page.getByRole("button", { name: "Turn on microphone" }).isVisible());
  });

  test("the pre-join page explains the refusal", async () => {
    // (--use-fake-ui-for-media-stream grants any prompt, so a context
    // without permissions is not enough: getUserMedia is made to refuse.)
    const ctx = await browser.newContext({ permissions: [] });
    await ctx.addInitScript(() => {
      Object.defineProperty(navigator.mediaDevices, "getUserMedia", { value: () => Promise.reject(new DOMException("no", "NotAllowedError")) });
    });
    const page = await ctx.newPage();
    await page.goto(`${server.url}/${room}`, { waitUntil: "domcontentloaded" });
    await poll(async () => /denied/i.test((await page.locator(".problems").textContent()) ?? ""), { what: "permission explanation" });
    assert.ok(await page.getByRole("button", { name: /Join/ }).isEnabled());
    await ctx.close();
  });
});
