// Four people through the SFU: each browser has its two connections with
// the server (one to publish, one to receive), whatever the size of the
// meeting, and one outbound camera with its three simulcast layers, not
// one per other participant; every tile decodes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, poll } from "../lib/browser.mjs";

describe("four people in SFU mode", () => {
  let server, browser;
  const people = [];
  const room = "sfu-four";

  before(async () => {
    server = await startServer({ args: ["--media", "sfu"] });
    browser = await launchBrowser();
    // Small windows: smaller tiles ask for the lower layers, which four
    // browsers on two cores can decode.
    for (const name of ["Ada", "Bob", "Cy", "Dee"]) people.push(await join(browser, server.url, room, name, { viewport: { width: 640, height: 480 } }));
  });

  after(async () => {
    await closeAll(...people);
    await browser?.close();
    await server?.stop();
  });

  test("two connections and one camera each; every tile decodes", async () => {
    try {
      for (const p of people) {
        const others = people.filter((o) => o !== p).map((o) => o.id);
        await expectMediaFrom(p.page, others, { timeout: 60000 });
        const s = await p.page.evaluate(() => ({
          mesh: window.__huddle.peers().size,
          sfu: window.__huddle.sfuConnections().length,
          video: window.__huddle
            .sfuConnections()[0]
            .getSenders()
            .filter((x) => x.track?.kind === "video")
            .map((x) => x.getParameters().encodings.map((e) => e.rid).join(",")),
        }));
        assert.deepEqual(s, { mesh: 0, sfu: 2, video: ["q,h,f"] }, `${p.name}: ${JSON.stringify(s)}`);
        await poll(
          () => p.page.evaluate(() => [...document.querySelectorAll('.tile[data-self="false"] video')].every((v) => v.videoWidth > 0)),
          { what: `every tile shows video at ${p.name}` },
        );
        assert.equal(await p.page.locator(".tile").count(), 4);
      }
    } catch (err) {
      console.log(dumpLogs(...people));
      throw err;
    }
  });
});
