// Keyboard only: join, microphone, camera, raise a hand, chat (type and
// send) and leave without a mouse; the focus is always visible; the
// shortcut list (?) keeps the focus inside and closes with Escape; each
// change is announced in the live region; Space held talks while muted.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, join, launchBrowser, openPrejoin, poll } from "../lib/browser.mjs";

/** focusNext presses Tab until the focused element matches selector, and checks the focus shows. */
async function focusNext(page, selector, most = 60) {
  for (let i = 0; i < most; i++) {
    await page.keyboard.press("Tab");
    const hit = await page.evaluate((sel) => {
      const el = document.activeElement;
      return el?.matches(sel) ? { visible: el.matches(":focus-visible"), outline: getComputedStyle(el).outlineStyle, shadow: getComputedStyle(el).boxShadow } : null;
    }, selector);
    if (hit) {
      assert.ok(hit.visible && (hit.outline !== "none" || hit.shadow !== "none"), `focus on ${selector} is not visible: ${JSON.stringify(hit)}`);
      return;
    }
  }
  throw new Error(`Tab never reached ${selector}`);
}

const announced = (page) => page.evaluate(() => document.getElementById("announcer")?.textContent ?? "");

describe("keyboard only", () => {
  let server, browser, ada, bob;
  const room = "keys-room";

  before(async () => {
    server = await startServer({ args: ["--media", "mesh"] });
    browser = await launchBrowser();
    bob = await join(browser, server.url, room, "Bob");
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
  });

  test("join, mic, camera, hand, chat, shortcuts and leave with the keyboard", async () => {
    ada = await openPrejoin(browser, server.url, room, "Ada");
    try {
      await poll(() => ada.page.getByRole("button", { name: /Join/ }).isEnabled(), { what: "Join enabled" });
      await ada.page.evaluate(() => document.activeElement?.blur());
      await focusNext(ada.page, "#join");
      await ada.page.keyboard.press("Enter");
      await ada.page.waitForSelector(".meeting");

      await focusNext(ada.page, "#ctl-mic");
      await ada.page.keyboard.press("Enter");
      await poll(async () => (await announced(ada.page)).includes("Microphone off"), { what: "mic off announced" });
      await ada.page.keyboard.press("Tab");
      assert.equal(await ada.page.evaluate(() => document.activeElement.id), "ctl-cam");
      await ada.page.keyboard.press("Space");
      await poll(async () => (await announced(ada.page)).includes("Camera off"), { what: "camera off announced" });
      await focusNext(ada.page, "#ctl-hand");
      await ada.page.keyboard.press("Enter");
      await poll(async () => (await announced(ada.page)).includes("raised your hand"), { what: "hand raised announced" });
      await poll(async () => (await bob.page.locator(`.tile[data-hand="1"]`).count()) === 1, { what: "Bob sees the hand" });

      // Space held talks while muted; let go, muted again.
      await ada.page.evaluate(() => document.activeElement?.blur());
      const micOn = () => ada.page.evaluate(() => window.__huddle.localTracks().find((t) => t.kind === "audio")?.enabled);
      await ada.page.keyboard.down("Space");
      await poll(micOn, { what: "microphone on while Space is held" });
      await ada.page.keyboard.up("Space");
      await poll(async () => !(await micOn()), { what: "microphone off when Space is let go" });

      // Chat: open with its shortcut, type, send.
      await ada.page.keyboard.press("Control+Alt+KeyC");
      await poll(() => ada.page.evaluate(() => document.activeElement?.id === "chat-input"), { what: "focus in the chat box" });
      await ada.page.keyboard.type("typed, not clicked");
      await ada.page.keyboard.press("Enter");
      await poll(async () => (await bob.page.locator(".chat-list").textContent())?.includes("typed, not clicked"), { what: "Bob gets the message" });
      await ada.page.keyboard.press("Escape");
      await poll(() => ada.page.locator("#chat-panel").isHidden(), { what: "Escape closes the chat" });
      assert.equal(await ada.page.evaluate(() => document.activeElement.id), "ctl-chat", "focus back on the chat button");

      // ? opens the shortcut list; Tab stays inside; Escape closes it.
      await ada.page.keyboard.press("Shift+Slash");
      await poll(() => ada.page.locator("#shortcuts").isVisible(), { what: "the shortcut list" });
      for (let i = 0; i < 3; i++) {
        await ada.page.keyboard.press("Tab");
        assert.ok(await ada.page.evaluate(() => document.getElementById("shortcuts").contains(document.activeElement)), "focus left the dialog");
      }
      await ada.page.keyboard.press("Escape");
      await poll(() => ada.page.locator("#shortcuts").isHidden(), { what: "Escape closes the list" });
      assert.equal(await ada.page.evaluate(() => document.activeElement.id), "ctl-chat", "focus back where it was");

      await focusNext(ada.page, "#ctl-leave");
      await ada.page.keyboard.press("Enter");
      await ada.page.locator(".ended").waitFor();
    } catch (err) {
      console.log(dumpLogs(ada, bob));
      throw err;
    }
  });
});
