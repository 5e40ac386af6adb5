// Raised hands, reactions and keyboard shortcuts with three people: hands
// are seen by everyone in the order they went up and the host lowers them;
// a reaction floats over the sender's tile on the others' screens;
// Ctrl+D mutes; connection bars come from the SFU's connection (three
// people: the server's auto mode puts the meeting through its SFU).
// Screenshots at desktop and phone size.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, join, launchBrowser, poll } from "../lib/browser.mjs";

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../artifacts");

/** handList reads the people panel's raised hands, in order, as peer ids. */
const handList = (p) => p.page.locator("#raised-hands li").evaluateAll((els) => els.map((e) => e.dataset.peerId));

describe("hands and reactions", () => {
  let server, browser, ada, bob, cy;
  const room = "hands-room";

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    bob = await join(browser, server.url, room, "Bob");
    cy = await join(browser, server.url, room, "Cy", { viewport: { width: 390, height: 844 } });
    await fs.mkdir(artifacts, { recursive: true });
  });

  after(async () => {
    await closeAll(ada, bob, cy);
    await browser?.close();
    await server?.stop();
  });

  test("raised hands are seen in order and the host lowers them", async () => {
    try {
      await bob.page.getByRole("button", { name: "Raise hand" }).click();
      await bob.page.getByRole("button", { name: "Lower hand" }).waitFor();
      // Cy raises hers from the keyboard.
      await cy.page.locator("body").click({ position: { x: 5, y: 5 } });
      await cy.page.keyboard.press("Control+Alt+KeyH");
      await cy.page.getByRole("button", { name: "Lower hand" }).waitFor();

      await ada.page.getByRole("button", { name: /Show participants/ }).click();
      await poll(async () => JSON.stringify(await handList(ada)) === JSON.stringify([bob.id, cy.id]), { what: "Ada sees Bob's hand, then Cy's" });
      await poll(async () => (await ada.page.locator(`.tile[data-peer-id="${bob.id}"]`).getAttribute("data-hand")) === "1", { what: "hand badge 1 on Bob's tile" });
      assert.equal(await ada.page.locator(`.tile[data-peer-id="${cy.id}"]`).getAttribute("data-hand"), "2");
      assert.ok(await ada.page.locator(`.tile[data-peer-id="${bob.id}"] .hand-badge`).isVisible());
      assert.match((await ada.page.locator("#announcer").textContent()) ?? "", /Bob raised a hand/);
      assert.match((await cy.page.locator("#announcer").textContent()) ?? "", /You raised your hand/);
      await ada.page.screenshot({ path: path.join(artifacts, "hands-desktop.png") });
      await cy.page.screenshot({ path: path.join(artifacts, "hands-phone.png") });

      // Bob is not host: no lower button for others' hands on his side.
      await bob.page.getByRole("button", { name: /Show participants/ }).click();
      await poll(async () => (await handList(bob)).length === 2, { what: "Bob sees two hands" });
      assert.equal(await bob.page.getByRole("button", { name: "Lower Cy's hand" }).count(), 0);

      await ada.page.getByRole("button", { name: "Lower Bob's hand" }).click();
      await bob.page.getByRole("button", { name: "Raise hand" }).waitFor();
      await poll(async () => JSON.stringify(await handList(bob)) === JSON.stringify([cy.id]), { what: "Bob sees only Cy's hand" });
      assert.match((await bob.page.locator("#announcer").textContent()) ?? "", /host lowered your hand/);
      await poll(async () => (await cy.page.locator(`.tile[data-peer-id="${bob.id}"]`).getAttribute("data-hand")) === "", { what: "Bob's badge gone for Cy" });
      assert.equal(await cy.page.locator(`.tile[data-peer-id="${cy.id}"]`).getAttribute("data-hand"), "1");
    } catch (err) {
      console.log(dumpLogs(ada, bob, cy));
      throw err;
    }
  });

  test("a reaction floats over the sender's tile on the others' screens", async () => {
    await bob.page.getByRole("button", { name: "Send a reaction" }).click();
    await bob.page.getByRole("button", { name: "React 🎉" }).click();
    for (const p of [ada, cy, bob]) {
      await poll(async () => (await p.page.locator(`.tile[data-peer-id="${bob.id}"] .reactions .float`).allTextContents()).includes("🎉"), { what: `🎉 over Bob's tile for ${p.name}` });
    }
    assert.equal(await ada.page.locator(`.tile[data-peer-id="${ada.id}"] .reactions .float`).count(), 0);
    await ada.page.screenshot({ path: path.join(artifacts, "reaction-desktop.png") });
    await cy.page.screenshot({ path: path.join(artifacts, "reaction-phone.png") });
    // It goes away by itself.
    await poll(async () => (await ada.page.locator(".reactions .float").count()) === 0, { what: "reaction gone", timeout: 6000 });
    // Escape closes the picker and gives the focus back.
    await bob.page.keyboard.press("Escape");
    assert.ok(await bob.page.locator("#reaction-bar").isHidden());
  });

  test("in the SFU, each tile's bars come from the participant's share of the subscribing connection", async () => {
    await poll(async () => (await ada.page.evaluate(() => window.__huddle.mode)) === "sfu", { what: "meeting in the SFU" });
    for (const who of [bob, cy]) {
      const q = ada.page.locator(`.tile[data-peer-id="${who.id}"] .quality`);
      await poll(async () => Number(await q.getAttribute("data-level")) > 0, { what: `bars on ${who.name}'s tile`, timeout: 30000 });
      assert.match(await q.getAttribute("aria-label"), /connection/);
    }
    assert.equal(await ada.page.evaluate(() => window.__huddle.peers().size), 0, "no direct connections left");
  });

  test("Ctrl+D turns the microphone off and on, and says so", async () => {
    await ada.page.locator("body").click({ position: { x: 5, y: 5 } });
    await ada.page.keyboard.press("Control+KeyD");
    await ada.page.getByRole("button", { name: "Turn on microphone" }).waitFor();
    await poll(async () => (await bob.page.locator(`.tile[data-peer-id="${ada.id}"]`).getAttribute("data-audio")) === "off", { what: "Bob sees Ada muted" });
    assert.match((await ada.page.locator("#announcer").textContent()) ?? "", /Microphone off/);
    await ada.page.keyboard.press("Control+KeyD");
    await ada.page.getByRole("button", { name: "Turn off microphone" }).waitFor();
    await ada.page.keyboard.press("Control+KeyE");
    await ada.page.getByRole("button", { name: "Turn on camera" }).waitFor();
    await poll(async () => (await bob.page.locator(`.tile[data-peer-id="${ada.id}"]`).getAttribute("data-video")) === "off", { what: "Bob sees Ada's camera off" });
    await ada.page.keyboard.press("Control+KeyE");
    await ada.page.getByRole("button", { name: "Turn off camera" }).waitFor();
  });
});
