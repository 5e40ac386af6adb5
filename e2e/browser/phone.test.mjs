// A call of two on a phone: the other person fills the screen and our own
// view is a small picture-in-picture that can be dragged to a corner;
// nothing is wider than the screen, upright or on its side.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, poll } from "../lib/browser.mjs";

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../artifacts");
const phone = { hasTouch: true, isMobile: true, deviceScaleFactor: 2 };

/** geometry reads where the tiles and controls are on p's screen. */
const geometry = (p, otherId) =>
  p.page.evaluate((otherId) => {
    const r = (el) => el?.getBoundingClientRect().toJSON();
    return {
      layout: document.querySelector("#grid").dataset.layout,
      grid: r(document.querySelector("#grid")),
      other: r(document.querySelector(`.tile[data-peer-id="${otherId}"]`)),
      self: r(document.querySelector('.tile[data-self="true"]')),
      selfIsPip: document.querySelector('.tile[data-self="true"]').classList.contains("pip"),
      controls: r(document.querySelector(".controls")),
      scrollWidth: document.documentElement.scrollWidth,
      viewport: { width: innerWidth, height: innerHeight },
    };
  }, otherId);

describe("a call of two on a phone", () => {
  let server, browser, ada, bob;
  const room = "phone-room";

  before(async () => {
    server = await startServer({ args: ["--media", "mesh"] });
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada", { viewport: { width: 390, height: 844 }, device: phone });
    bob = await join(browser, server.url, room, "Bob");
    await expectMediaFrom(ada.page, [bob.id]);
    await fs.mkdir(artifacts, { recursive: true });
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
  });

  test("the other person fills the screen; our own view floats and moves", async () => {
    try {
      await poll(async () => (await geometry(ada, bob.id)).layout === "duo", { what: "the duo layout" });
      const g = await geometry(ada, bob.id);
      assert.ok(g.selfIsPip, "own tile is not the picture-in-picture");
      assert.ok(g.other.width >= g.grid.width - 2 && g.other.height >= g.grid.height - 2, `Bob's tile ${g.other.width}x${g.other.height} does not fill ${g.grid.width}x${g.grid.height}`);
      assert.ok(g.self.width < g.grid.width * 0.4, `own view ${g.self.width}px wide is not small`);
      assert.ok(g.scrollWidth <= g.viewport.width, `page ${g.scrollWidth}px wide on a ${g.viewport.width}px screen`);
      assert.ok(g.controls.bottom <= g.viewport.height && g.controls.top > g.viewport.height / 2, "controls not at the bottom");
      assert.ok(g.self.bottom <= g.controls.top, "own view overlaps the controls");
      await ada.page.screenshot({ path: path.join(artifacts, "duo-phone.png") });

      // Drag our own view to the top left corner: it stays there.
      const from = { x: g.self.x + g.self.width / 2, y: g.self.y + g.self.height / 2 };
      await ada.page.mouse.move(from.x, from.y);
      await ada.page.mouse.down();
      await ada.page.mouse.move(g.grid.x + 40, g.grid.y + 40, { steps: 8 });
      await ada.page.mouse.up();
      await poll(async () => (await ada.page.locator("#grid").getAttribute("data-pip")) === "tl", { what: "own view in the top left corner" });
      const moved = await geometry(ada, bob.id);
      assert.ok(moved.self.x < g.grid.x + 30 && moved.self.y < g.grid.y + 30, `own view at ${moved.self.x},${moved.self.y}`);

      // Chat opens as a full-screen sheet with a visible close.
      await ada.page.locator("#ctl-chat").click();
      const sheet = await ada.page.evaluate(() => document.querySelector("#chat-panel").getBoundingClientRect().toJSON());
      assert.ok(sheet.x <= 0 && sheet.y <= 0 && sheet.width >= 390 && sheet.height >= 844, `chat sheet ${JSON.stringify(sheet)}`);
      // Phones zoom into a field whose text is under 16 px when it takes the
      // focus: none is, in the chat and in the people panel.
      const small = () =>
        ada.page.evaluate(() =>
          [...document.querySelectorAll("input, textarea, select")]
            .filter((e) => e.getClientRects().length > 0 && parseFloat(getComputedStyle(e).fontSize) < 16)
            .map((e) => `${e.id || e.name || e.type} ${getComputedStyle(e).fontSize}`),
        );
      assert.deepEqual(await small(), [], "fields under 16 px in the chat");
      await ada.page.locator("#chat-input").fill("hello from a phone");
      await ada.page.keyboard.press("Enter");
      await poll(async () => (await bob.page.locator(".chat-list").textContent())?.includes("hello from a phone"), { what: "Bob gets the chat" });
      await ada.page.screenshot({ path: path.join(artifacts, "chat-phone.png") });
      await ada.page.locator("#chat-panel").getByRole("button", { name: "Close" }).click();
      await poll(() => ada.page.locator("#chat-panel").isHidden(), { what: "the chat sheet closed" });
      await ada.page.locator("#ctl-people").click();
      assert.deepEqual(await small(), [], "fields under 16 px in the people panel");
      await ada.page.locator("#people-panel").getByRole("button", { name: "Close" }).click();

      // Without a touch for a few seconds the controls step aside; a tap
      // brings them back.
      const hidden = () => ada.page.evaluate(() => getComputedStyle(document.querySelector(".controls")).visibility === "hidden");
      await poll(hidden, { what: "the controls hidden after no touch", timeout: 10000 });
      await ada.page.touchscreen.tap(195, 300);
      await poll(async () => !(await hidden()), { what: "the controls back after a tap" });

      // On its side the same holds.
      await ada.page.setViewportSize({ width: 844, height: 390 });
      await poll(async () => {
        const l = await geometry(ada, bob.id);
        return l.layout === "duo" && l.scrollWidth <= l.viewport.width && l.other.width >= l.grid.width - 2;
      }, { what: "the duo layout on a phone on its side" });
      await ada.page.screenshot({ path: path.join(artifacts, "duo-phone-landscape.png") });
    } catch (err) {
      console.log(dumpLogs(ada, bob));
      throw err;
    }
  });
});
