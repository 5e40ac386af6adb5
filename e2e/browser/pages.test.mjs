// Pages of tiles in SFU mode: a grid shows up to 25 tiles a page, and the
// SFU sends video only for the tiles on the page shown. Three browsers
// with a page size of 2 (stored under huddle.pageSize) stand in for a
// meeting of 26.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, enter, join, launchBrowser, mediaStats, openPrejoin, poll } from "../lib/browser.mjs";

/** framesFrom reads how many video frames page has decoded of id through the SFU. */
const framesFrom = async (page, id) => (await mediaStats(page))[id]?.framesDecoded ?? 0;

/** grows reports whether id's decoded frames at p grow within ms. */
async function grows(p, id, ms) {
  const before = await framesFrom(p.page, id);
  await new Promise((r) => setTimeout(r, ms));
  return (await framesFrom(p.page, id)) > before;
}

describe("pages of tiles in SFU mode", () => {
  let server, browser, ada, bob, cy;
  const room = "pages-room";

  before(async () => {
    server = await startServer({ args: ["--media", "sfu"] });
    browser = await launchBrowser();
    bob = await join(browser, server.url, room, "Bob");
    cy = await join(browser, server.url, room, "Cy");
    // No one speaks, so the active speaker does not reorder the pages.
    for (const p of [bob, cy]) await p.page.getByRole("button", { name: "Turn off microphone" }).click();
    ada = await openPrejoin(browser, server.url, room, "Ada");
    await ada.page.evaluate(() => localStorage.setItem("huddle.pageSize", "2"));
    await enter(ada);
  });

  after(async () => {
    await closeAll(ada, bob, cy);
    await browser?.close();
    await server?.stop();
  });

  test("only the page shown gets video; turning the page brings the rest", async () => {
    try {
      const pager = ada.page.getByRole("navigation", { name: "Pages of participants" });
      await pager.waitFor();
      assert.equal(await pager.locator(".pager-text").textContent(), "Page 1 of 2");
      // Page 1: Ada herself and Bob; Cy is on page 2.
      await poll(async () => (await framesFrom(ada.page, bob.id)) > 0, { what: "Bob's video at Ada" });
      assert.ok(await ada.page.locator(`.tile[data-peer-id="${cy.id}"]`).isHidden(), "Cy's tile is on page 2");
      // The view report reaches the SFU within a second; after that, no
      // new frame of Cy while Bob's keep coming.
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(!(await grows(ada, cy.id, 2000)), "Cy's video still flows to a tile on another page");
      assert.ok(await grows(ada, bob.id, 2000), "Bob's video stopped");

      await ada.page.getByRole("button", { name: "Next page" }).click();
      assert.equal(await pager.locator(".pager-text").textContent(), "Page 2 of 2");
      assert.ok(await ada.page.locator(`.tile[data-peer-id="${bob.id}"]`).isHidden(), "Bob's tile left with page 1");
      await poll(() => grows(ada, cy.id, 500), { what: "Cy's video on page 2", timeout: 10000 });
      await poll(async () => await ada.page.evaluate((id) => document.querySelector(`.tile[data-peer-id="${id}"] video`).videoWidth > 0, cy.id), {
        what: "Cy's tile shows video",
      });
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(!(await grows(ada, bob.id, 2000)), "Bob's video still flows while his tile is on page 1");
      assert.ok(await ada.page.getByRole("button", { name: "Next page" }).isDisabled());
    } catch (err) {
      console.log(dumpLogs(ada, bob, cy));
      throw err;
    }
  });
});
