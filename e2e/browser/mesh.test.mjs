// Three people in a full mesh: everyone receives everyone; screen sharing
// reaches the others and stopping it returns to the camera.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/server.mjs";
import { expectTileFrames, closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, mediaStats, poll } from "../lib/browser.mjs";

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../artifacts");

describe("three-person mesh", () => {
  let server, browser, ada, bob, cy;
  const room = "mesh-room-1";

  before(async () => {
    // Peer to peer whatever the size: the SFU has its own test (sfu.test.mjs).
    server = await startServer({ args: ["--media", "mesh"] });
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada Lovelace");
    bob = await join(browser, server.url, room, "Bob");
    cy = await join(browser, server.url, room, "Cy");
  });

  after(async () => {
    await closeAll(ada, bob, cy);
    await browser?.close();
    await server?.stop();
  });

  test("everyone receives video and audio from everyone", async () => {
    try {
      await expectMediaFrom(ada.page, [bob.id, cy.id]);
      await expectMediaFrom(bob.page, [ada.id, cy.id]);
      await expectMediaFrom(cy.page, [ada.id, bob.id]);
    } catch (err) {
      console.log(dumpLogs(ada, bob, cy));
      throw err;
    }
    for (const p of [ada, bob, cy]) assert.equal(await p.page.locator(".tile").count(), 3);
    // Toasts announce arrivals.
    assert.match((await ada.page.locator("#announcer").textContent()) ?? "", /Bob joined/);
    await poll(
      async () => (await ada.page.evaluate(() => [...document.querySelectorAll(".tile video")].every((v) => v.videoWidth > 0))),
      { what: "all tiles showing video" },
    );
    await fs.mkdir(artifacts, { recursive: true });
    await ada.page.screenshot({ path: path.join(artifacts, "three-person-call.png") });
  });

  test("a shared screen comes beside the camera; the browser's own Stop ends it", async () => {
    await ada.page.getByRole("button", { name: "Share screen" }).click();
    await ada.page.getByRole("button", { name: "Stop presenting" }).waitFor();
    const screenId = `${ada.id}~screen`;
    for (const viewer of [bob, cy]) {
      await poll(async () => (await viewer.page.locator(`.tile[data-peer-id="${screenId}"]`).getAttribute("data-screen")) === "on", { what: `Ada's screen tile at ${viewer.name}` });
      // The screen and the camera both show frames that keep coming: the
      // camera does not stop for the screen.
      const screen = await expectTileFrames(viewer.page, screenId);
      const camera = await expectTileFrames(viewer.page, ada.id);
      assert.ok(screen.width > camera.width, `${viewer.name}: screen ${screen.width} px wide, camera ${camera.width}: the screen comes at its own size`);
      assert.equal(await viewer.page.locator(".stage-main .tile").getAttribute("data-peer-id"), screenId, "the screen on the stage");
    }
    // Each connection sends the camera and the screen, on two senders.
    const sent = await ada.page.evaluate(() =>
      [...window.__huddle.peers().values()].map((pc) => pc.getSenders().filter((s) => s.track?.kind === "video").map((s) => s.track.label).sort()),
    );
    const cameraLabel = (await ada.page.evaluate(() => window.__huddle.localTracks())).find((t) => t.kind === "video").label;
    for (const labels of sent) assert.ok(labels.length === 2 && labels.includes(cameraLabel), `senders ${JSON.stringify(labels)}`);

    // The browser's own "Stop sharing" ends the track: same as our button.
    await ada.page.evaluate(() => {
      const v = document.querySelector(`.tile[data-self="true"][data-screen="on"] video`);
      v.srcObject.getVideoTracks()[0].stop();
      v.srcObject.getVideoTracks()[0].dispatchEvent(new Event("ended"));
    });
    await ada.page.getByRole("button", { name: "Share screen" }).waitFor();
    await poll(async () => (await bob.page.locator(`.tile[data-peer-id="${screenId}"]`).count()) === 0, { what: "the screen tile gone" });
    await expectTileFrames(bob.page, ada.id);
    await expectMediaFrom(bob.page, [ada.id], { audio: false });
  });
});
