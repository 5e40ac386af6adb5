// A two-person call in real Chromium against the real server: media both
// ways, indicators, chat with hostile markup, leaving.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, poll } from "../lib/browser.mjs";

describe("two-person call", () => {
  let server, browser, ada, bob;
  const room = "abc-defg-hij";

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    bob = await join(browser, server.url, room, "Bob");
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
  });

  test("video and audio flow both ways", async () => {
    try {
      await expectMediaFrom(ada.page, [bob.id]);
      await expectMediaFrom(bob.page, [ada.id]);
    } catch (err) {
      console.log(dumpLogs(ada, bob), server.logs().slice(-4000));
      throw err;
    }
    // Each side shows one tile per person, named.
    await poll(async () => (await bob.page.locator(`.tile[data-peer-id="${ada.id}"] .tile-name`).textContent()) === "Ada", { what: "Ada's tile on Bob's side" });
    assert.equal(await ada.page.locator(".tile").count(), 2);
    // The self view is mirrored, the remote one is not.
    assert.match(await ada.page.locator(`.tile[data-peer-id="${ada.id}"]`).getAttribute("class"), /\bmirrored\b/);
    assert.doesNotMatch(await ada.page.locator(`.tile[data-peer-id="${bob.id}"]`).getAttribute("class"), /\bmirrored\b/);
  });

  test("mute and camera-off are seen by the other side", async () => {
    const tile = bob.page.locator(`.tile[data-peer-id="${ada.id}"]`);
    assert.equal(await tile.getAttribute("data-audio"), "on");
    await ada.page.getByRole("button", { name: "Turn off microphone" }).click();
    await poll(async () => (await tile.getAttribute("data-audio")) === "off", { what: "muted indicator" });
    assert.ok(await tile.locator(".mic-off").isVisible());
    await ada.page.getByRole("button", { name: "Turn on microphone" }).click();
    await poll(async () => (await tile.getAttribute("data-audio")) === "on", { what: "unmuted indicator" });

    await ada.page.getByRole("button", { name: "Turn off camera" }).click();
    await poll(async () => (await tile.getAttribute("data-video")) === "off", { what: "camera-off indicator" });
    assert.ok(await tile.locator(".cam-off").isVisible());
    assert.ok(await tile.locator(".avatar").isVisible());
    // The camera is really stopped (its light would go out).
    const tracks = await ada.page.evaluate(() => window.__huddle.localTracks());
    assert.equal(tracks.filter((t) => t.kind === "video").length, 0);

    await ada.page.getByRole("button", { name: "Turn on camera" }).click();
    await poll(async () => (await tile.getAttribute("data-video")) === "on", { what: "camera back on" });
    await expectMediaFrom(bob.page, [ada.id], { audio: false });
  });

  test("chat both ways; markup stays text and does not run", async () => {
    const payload = `<img src=x onerror="window.__pwned=1">`;
    await ada.page.getByRole("button", { name: /Open chat/ }).click();
    await ada.page.locator("#chat-input").fill(payload);
    await ada.page.getByRole("button", { name: "Send message" }).click();

    // Bob's chat is closed: the unread counter tells him.
    await poll(async () => (await bob.page.locator("#ctl-chat").getAttribute("aria-label")) === "Open chat (1 unread)", { what: "unread counter" });
    await bob.page.getByRole("button", { name: /Open chat/ }).click();
    const bobText = bob.page.locator("#chat-panel .chat-text").last();
    await poll(async () => (await bobText.textContent()) === payload, { what: "message text on Bob's side" });
    assert.equal(await bob.page.locator("#chat-panel img").count(), 0);
    assert.equal(await bob.page.evaluate(() => window.__pwned), undefined);
    assert.equal(await ada.page.evaluate(() => window.__pwned), undefined);
    assert.equal(await bob.page.locator("#chat-panel .chat-name").last().textContent(), "Ada");

    await bob.page.locator("#chat-input").fill("hello https://example.com/x");
    await bob.page.keyboard.press("Enter");
    const adaText = ada.page.locator("#chat-panel .chat-text").last();
    await poll(async () => (await adaText.textContent()) === "hello https://example.com/x", { what: "Bob's reply on Ada's side" });
    assert.equal(await ada.page.locator("#chat-panel a").count(), 0, "links are text, not anchors");
  });

  test("a late joiner sees the chat history as text", async () => {
    const cy = await join(browser, server.url, room, "Cy");
    try {
      await cy.page.getByRole("button", { name: /Open chat/ }).click();
      const texts = cy.page.locator("#chat-panel .chat-text");
      await poll(async () => (await texts.count()) === 2, { what: "history" });
      assert.equal(await texts.first().textContent(), `<img src=x onerror="window.__pwned=1">`);
      assert.equal(await cy.page.locator("#chat-panel img").count(), 0);
      assert.equal(await cy.page.evaluate(() => window.__pwned), undefined);
      await cy.page.getByRole("button", { name: /Leave/ }).click();
      await poll(async () => (await ada.page.locator(".tile").count()) === 2, { what: "Cy gone" });
    } finally {
      await closeAll(cy);
    }
  });

  test("leaving removes the tile on the other side and releases the camera", async () => {
    await bob.page.getByRole("button", { name: /Leave/ }).click();
    await bob.page.getByRole("heading", { name: "You left the meeting" }).waitFor();
    assert.ok(await bob.page.getByRole("button", { name: "Rejoin" }).isVisible());
    const left = await bob.page.evaluate(() => ({ peers: window.__huddle.peers().size, tracks: window.__huddle.localTracks().length }));
    assert.deepEqual(left, { peers: 0, tracks: 0 });
    await poll(async () => (await ada.page.locator(`.tile[data-peer-id="${bob.id}"]`).count()) === 0, { what: "Bob's tile removed" });
    assert.equal(await ada.page.locator(".tile").count(), 1);
    await poll(async () => ((await ada.page.locator("#announcer").textContent()) ?? "").includes("Bob left"), { what: "leave announced" });
  });
});
