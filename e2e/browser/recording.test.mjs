// Recording in the browser: everyone sees the indicator, stopping
// downloads a WebM file.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import { startServer } from "../lib/server.mjs";
import { closeAll, expectMediaFrom, join, launchBrowser } from "../lib/browser.mjs";

describe("recording", () => {
  let server, browser, ada, bob;
  const room = "rec-room";

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    bob = await join(browser, server.url, room, "Bob");
    await expectMediaFrom(ada.page, [bob.id]);
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
  });

  test("a few seconds record to a downloaded WebM and everyone sees the indicator", async () => {
    assert.ok(await bob.page.locator("#recording-indicator").isHidden());
    await ada.page.getByRole("button", { name: "Start recording" }).click();
    await ada.page.locator("#recording-indicator").waitFor({ state: "visible" });
    await bob.page.locator("#recording-indicator").waitFor({ state: "visible", timeout: 10000 });
    // Let it record a few seconds (this is content, not a timing assertion).
    await new Promise((r) => setTimeout(r, 3000));
    const downloading = ada.page.waitForEvent("download", { timeout: 20000 });
    await ada.page.getByRole("button", { name: "Stop recording" }).click();
    const download = await downloading;
    assert.match(download.suggestedFilename(), /^huddle-rec-room-.*\.webm$/);
    const file = await fs.readFile(await download.path());
    assert.ok(file.length > 10_000, `recording is ${file.length} bytes`);
    assert.deepEqual([...file.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], "EBML magic");
    // Both the video and audio tracks are declared (codec ids in the header).
    const head = file.subarray(0, 4096).toString("latin1");
    assert.match(head, /V_VP[89]/);
    assert.match(head, /A_OPUS/);
    await bob.page.locator("#recording-indicator").waitFor({ state: "hidden", timeout: 10000 });
  });
});
