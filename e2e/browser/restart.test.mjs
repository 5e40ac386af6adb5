// The signaling server restarts mid-call: media keeps flowing over the
// running peer connections, the app reconnects and re-joins, and signaling
// works again afterwards.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, mediaStats, poll } from "../lib/browser.mjs";

describe("server restart mid-call", () => {
  let server, browser, ada, bob;
  const room = "restart-room";

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    bob = await join(browser, server.url, room, "Bob");
    await expectMediaFrom(ada.page, [bob.id]);
    await expectMediaFrom(bob.page, [ada.id]);
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
  });

  test("media keeps flowing and the app reconnects", async () => {
    const status = (p) => p.page.locator("#connection-status").getAttribute("data-state");
    assert.equal(await status(ada), "connected");
    // Mark the connection objects: the same ones must survive.
    await ada.page.evaluate(() => window.__huddle.peers().forEach((pc) => (pc.__marked = true)));

    const port = server.port;
    await server.stop();
    await poll(async () => (await status(ada)) === "reconnecting" && (await status(bob)) === "reconnecting", { what: "reconnecting shown" });
    assert.ok(await ada.page.locator("#connection-banner").isVisible());

    // While the server is down, media still flows peer to peer.
    const down = await expectMediaFrom(ada.page, [bob.id]);

    server = await startServer({ port });
    try {
      await poll(async () => (await status(ada)) === "connected" && (await status(bob)) === "connected", { what: "connected again", timeout: 30000 });
    } catch (err) {
      console.log(dumpLogs(ada, bob), server.logs());
      throw err;
    }
    assert.ok(await ada.page.locator("#connection-banner").isHidden());

    const after = await expectMediaFrom(ada.page, [bob.id]);
    assert.ok(after.second[bob.id].framesDecoded > down.second[bob.id].framesDecoded);
    await expectMediaFrom(bob.page, [ada.id]);
    assert.equal(await ada.page.evaluate(() => [...window.__huddle.peers().values()].every((pc) => pc.__marked)), true, "same peer connections");
    // No duplicate tiles, same ids.
    await poll(async () => (await ada.page.evaluate(() => window.__huddle.selfId)) === ada.id, { what: "same id after rejoin" });
    assert.equal(await ada.page.locator(".tile").count(), 2);
    assert.equal(await bob.page.locator(".tile").count(), 2);

    // Signaling works again: a chat message and a mute reach the other side.
    await bob.page.getByRole("button", { name: "Turn off microphone" }).click();
    await poll(async () => (await ada.page.locator(`.tile[data-peer-id="${bob.id}"]`).getAttribute("data-audio")) === "off", { what: "mute after restart" });
    await ada.page.getByRole("button", { name: /Open chat/ }).click();
    await ada.page.locator("#chat-input").fill("still here");
    await ada.page.keyboard.press("Enter");
    await poll(async () => (await bob.page.locator("#ctl-chat").getAttribute("aria-label")) === "Open chat (1 unread)", { what: "chat after restart" });
    const st = await mediaStats(ada.page);
    assert.equal(st[bob.id].state, "connected");
  });
});
