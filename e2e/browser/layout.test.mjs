// Layouts: a pin puts a tile on the stage for that viewer only; speaker
// view shows a remote participant big and is remembered; hiding our own
// tile; a screen share takes the stage for everyone with the cameras in a
// strip; the host's spotlight puts someone on everyone's stage.
// Screenshots at desktop and phone size.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, join, launchBrowser, poll } from "../lib/browser.mjs";

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../artifacts");

/** onStage is the peer id of the tile on p's stage, or "" in a grid. */
const onStage = (p) => p.page.evaluate(() => document.querySelector(".stage-main .tile")?.dataset.peerId ?? "");
const layoutOf = (p) => p.page.locator("#grid").getAttribute("data-layout");

async function chooseLayout(p, item) {
  await p.page.getByRole("button", { name: "Change layout" }).click();
  await p.page.locator("#layout-menu").getByRole("button", { name: item }).click();
  await p.page.keyboard.press("Escape");
}

describe("layouts", () => {
  let server, browser, ada, bob, cy;
  const room = "layout-room";

  before(async () => {
    server = await startServer({ args: ["--media", "mesh"] });
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

  test("pinning puts a tile on my stage only", async () => {
    try {
      assert.equal(await layoutOf(ada), "grid");
      await ada.page.locator(`.tile[data-peer-id="${cy.id}"]`).hover();
      await ada.page.getByRole("button", { name: "Pin Cy" }).click();
      await poll(async () => (await onStage(ada)) === cy.id, { what: "Cy on Ada's stage" });
      assert.equal(await ada.page.locator(".strip .tile").count(), 2);
      assert.equal(await layoutOf(bob), "grid", "a pin is for the one who pinned");
      // The stage tile is big: wider than the strip's.
      const [big, small] = await ada.page.evaluate(() => [document.querySelector(".stage-main .tile").clientWidth, document.querySelector(".strip .tile").clientWidth]);
      assert.ok(big > 2 * small, `stage ${big}px, strip ${small}px`);
      await poll(async () => await ada.page.evaluate(() => document.querySelector(".stage-main video").videoWidth > 0), { what: "Cy's video on the stage" });
      await ada.page.screenshot({ path: path.join(artifacts, "pinned-desktop.png") });
      await ada.page.getByRole("button", { name: "Unpin Cy" }).click();
      await poll(async () => (await layoutOf(ada)) === "grid", { what: "back to the grid" });
    } catch (err) {
      console.log(dumpLogs(ada, bob, cy));
      throw err;
    }
  });

  test("speaker view shows someone else big, and is remembered", async () => {
    await chooseLayout(ada, "Speaker");
    await poll(async () => [bob.id, cy.id].includes(await onStage(ada)), { what: "a remote speaker on Ada's stage" });
    assert.equal(await ada.page.locator("#grid").getAttribute("data-why"), "speaker");
    // Pinning switches the big tile, whoever speaks.
    const first = await onStage(ada);
    const other = first === bob.id ? cy : bob;
    await ada.page.locator(`.tile[data-peer-id="${other.id}"]`).hover();
    await ada.page.getByRole("button", { name: `Pin ${other.name}` }).click();
    await poll(async () => (await onStage(ada)) === other.id, { what: "pinned tile on the stage" });
    await ada.page.getByRole("button", { name: `Unpin ${other.name}` }).click();
    assert.match(await ada.page.evaluate(() => localStorage.getItem("huddle.layout")), /"mode":"speaker"/);
    await chooseLayout(ada, "Hide my tile");
    await poll(async () => await ada.page.locator(`.tile[data-peer-id="${ada.id}"]`).isHidden(), { what: "own tile hidden" });
    await ada.page.screenshot({ path: path.join(artifacts, "speaker-desktop.png") });
    await chooseLayout(ada, "Hide my tile");
    await chooseLayout(ada, "Auto (grid)");
    await poll(async () => (await layoutOf(ada)) === "grid", { what: "grid again" });
  });

  test("a shared screen takes everyone's stage, cameras in a strip", async () => {
    await bob.page.getByRole("button", { name: "Share screen" }).click();
    for (const p of [ada, cy]) await poll(async () => (await onStage(p)) === `${bob.id}~screen`, { what: `Bob's screen on ${p.name}'s stage` });
    assert.equal(await ada.page.locator("#grid").getAttribute("data-why"), "presenting");
    await poll(async () => await ada.page.evaluate(() => document.querySelector(".stage-main video").videoWidth > 0), { what: "screen shown" });
    // Bob's camera stays, in the strip, beside his screen.
    assert.equal(await ada.page.locator(`.strip .tile[data-peer-id="${bob.id}"]`).count(), 1);
    // A second presenter: the newest share takes the stage; when it stops,
    // the one before comes back.
    await cy.page.getByRole("button", { name: "Share screen" }).click();
    await poll(async () => (await onStage(ada)) === `${cy.id}~screen`, { what: "Cy's newer screen on Ada's stage" });
    assert.equal(await ada.page.locator(`.strip .tile[data-peer-id="${bob.id}~screen"]`).count(), 1, "Bob's screen in the strip");
    await cy.page.getByRole("button", { name: "Stop presenting" }).click();
    await poll(async () => (await onStage(ada)) === `${bob.id}~screen`, { what: "Bob's screen back on the stage" });
    await ada.page.screenshot({ path: path.join(artifacts, "presenting-desktop.png") });
    await cy.page.screenshot({ path: path.join(artifacts, "presenting-phone.png") });
    // The presenter is reminded, with a Stop of its own; nobody else is.
    const banner = bob.page.locator("#presenting-banner");
    assert.match(await banner.textContent(), /You are presenting/);
    assert.ok(await ada.page.locator("#presenting-banner").isHidden());
    await bob.page.screenshot({ path: path.join(artifacts, "presenter-desktop.png") });
    await banner.getByRole("button", { name: "Stop sharing" }).click();
    await poll(() => banner.isHidden(), { what: "the reminder gone with the share" });
    for (const p of [ada, cy]) await poll(async () => (await layoutOf(p)) === "grid", { what: `grid again for ${p.name}` });
  });

  test("the host's spotlight takes everyone's stage; one's own pin still wins", async () => {
    // Ada is the host: she spotlights Bob from the people panel.
    await ada.page.locator("#ctl-people").click();
    await ada.page.getByRole("button", { name: "Spotlight Bob for everyone" }).click();
    for (const p of [ada, bob, cy]) await poll(async () => (await onStage(p)) === bob.id, { what: `Bob in the spotlight for ${p.name}` });
    assert.equal(await cy.page.locator("#grid").getAttribute("data-why"), "spotlight");
    await poll(async () => await cy.page.evaluate(() => document.querySelector(".stage-main video").videoWidth > 0), { what: "Bob's video in Cy's spotlight" });
    await cy.page.screenshot({ path: path.join(artifacts, "spotlight-phone.png") });
    // A guest has no spotlight control; Cy's own pin wins over the spotlight for Cy alone.
    await cy.page.locator("#ctl-people").click();
    assert.equal(await cy.page.getByRole("button", { name: /^Spotlight/ }).count(), 0);
    await cy.page.keyboard.press("Escape");
    await cy.page.locator(`.tile[data-peer-id="${ada.id}"]`).hover();
    await cy.page.getByRole("button", { name: "Pin Ada" }).click();
    await poll(async () => (await onStage(cy)) === ada.id, { what: "Cy's pin on Cy's stage" });
    assert.equal(await onStage(bob), bob.id);
    await cy.page.getByRole("button", { name: "Unpin Ada" }).click();
    await poll(async () => (await onStage(cy)) === bob.id, { what: "the spotlight back on Cy's stage" });
    await ada.page.getByRole("button", { name: "End the spotlight on Bob" }).click();
    for (const p of [ada, bob, cy]) await poll(async () => (await layoutOf(p)) === "grid", { what: `grid again for ${p.name}` });
    await ada.page.keyboard.press("Escape");
  });

  test("tiles show connection bars with words", async () => {
    const q = ada.page.locator(`.tile[data-peer-id="${bob.id}"] .quality`);
    await poll(async () => Number(await q.getAttribute("data-level")) > 0, { what: "quality bars on Bob's tile" });
    assert.match(await q.getAttribute("aria-label"), /connection/);
    await cy.page.screenshot({ path: path.join(artifacts, "grid-phone.png") });
    await ada.page.screenshot({ path: path.join(artifacts, "grid-desktop.png") });
  });
});
