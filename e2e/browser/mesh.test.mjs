// Three people in a full mesh: everyone receives everyone; screen sharing
// reaches the others and stopping it returns to the camera.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, mediaStats, poll } from "../lib/browser.mjs";

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

  test("a shared screen reaches the others and stopping returns to the camera", async () => {
    const before = await mediaStats(bob.page);
    const camWidth = before[ada.id].frameWidth;
    await ada.page.getByRole("button", { name: "Share screen" }).click();
    await ada.page.getByRole("button", { name: "Stop presenting" }).waitFor();
    let screenWidth = 0;
    for (const viewer of [bob, cy]) {
      await poll(async () => (await viewer.page.locator(`.tile[data-peer-id="${ada.id}"]`).getAttribute("data-screen")) === "on", { what: "presenting badge" });
      screenWidth = await poll(
        async () => {
          const s = (await mediaStats(viewer.page))[ada.id];
          return s.frameWidth > camWidth ? s.frameWidth : null;
        },
        { what: `screen resolution at ${viewer.name} (camera was ${camWidth})`, timeout: 30000 },
      );
    }
    await expectMediaFrom(cy.page, [ada.id], { audio: false });

    // The browser's own "Stop sharing" ends the track: same as our button.
    await ada.page.evaluate(() => {
      const v = document.querySelector(`.tile[data-self="true"] video`);
      v.srcObject.getVideoTracks()[0].stop();
      v.srcObject.getVideoTracks()[0].dispatchEvent(new Event("ended"));
    });
    await ada.page.getByRole("button", { name: "Share screen" }).waitFor();
    await poll(async () => (await bob.page.locator(`.tile[data-peer-id="${ada.id}"]`).getAttribute("data-screen")) === "off", { what: "presenting badge gone" });
    // Every sender carries the camera again, and Bob decodes frames that
    // are no longer screen-sized.
    const senders = await ada.page.evaluate(() =>
      [...window.__huddle.peers().values()].map((pc) => pc.getSenders().find((s) => s.track?.kind === "video")?.track?.label ?? ""),
    );
    const cameraLabel = (await ada.page.evaluate(() => window.__huddle.localTracks())).find((t) => t.kind === "video").label;
    assert.deepEqual(senders, [cameraLabel, cameraLabel]);
    await poll(
      async () => {
        const w = (await mediaStats(bob.page))[ada.id].frameWidth;
        return w > 0 && w < screenWidth ? true : null;
      },
      { what: `camera resolution back (screen ${screenWidth}, camera ${camWidth})`, timeout: 30000 },
    );
    await expectMediaFrom(bob.page, [ada.id], { audio: false });
  });
});
