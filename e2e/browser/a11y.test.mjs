// Accessibility: axe-core (from npm, run in the page) finds no serious or
// critical violation on any screen, at desktop and phone sizes: home,
// pre-join, the meeting alone and with three, presenting, chat, people,
// waiting room, password prompt, ended, and /check.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/server.mjs";
import { closeAll, enter, join, launchBrowser, openPrejoin, poll } from "../lib/browser.mjs";

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../artifacts");
const phone = { viewport: { width: 390, height: 844 }, device: { hasTouch: true, isMobile: true } };

/** audit runs axe-core on page and returns its serious and critical violations, in words. */
async function audit(page) {
  // Evaluated through the debugging protocol: the app's Content Security
  // Policy rightly refuses injected scripts.
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // A notice fading out (.leaving) is half transparent for 300 ms: not
    // a colour anyone reads.
    const r = await window.axe.run({ exclude: [[".toast.leaving"]] }, { resultTypes: ["violations"] });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => `${n.target.join(" ")} ${n.failureSummary?.split("\n").slice(1, 2).join(" ")}`).slice(0, 3).join(", ")})`);
  });
  return violations;
}

/** wake touches a meeting page, so that a touch screen's idle controls come back. */
const wake = (page) => page.evaluate(() => document.querySelector(".meeting")?.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true })));

/** press wakes the page and clicks. */
const press = async (locator) => {
  await wake(locator.page());
  await locator.click();
};

describe("accessibility (axe-core)", () => {
  let server, browser;
  const found = [];
  // Each screen checked is also kept as a screenshot, to be looked at.
  const check = async (what, page) => {
    await wake(page);
    for (const v of await audit(page)) found.push(`${what}: ${v}`);
    const name = what.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    await page.screenshot({ path: path.join(artifacts, `screen-${name}.png`) });
  };

  before(async () => {
    server = await startServer({ args: ["--media", "mesh"] });
    browser = await launchBrowser();
    fs.mkdirSync(artifacts, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const [size, opts] of [["desktop", {}], ["phone", phone]]) {
    test(`every screen at ${size} size`, async () => {
      const room = `a11y-${size}`;
      const ada = await openPrejoin(browser, server.url, room, "Ada", opts);
      let bob, cy, dee, eve;
      try {
        await ada.page.goto(server.url, { waitUntil: "domcontentloaded" });
        await ada.page.locator("main, .home").first().waitFor();
        await check(`${size} home`, ada.page);
        await ada.page.goto(`${server.url}/check`, { waitUntil: "domcontentloaded" });
        await ada.page.waitForTimeout(1500);
        await check(`${size} /check`, ada.page);
        await ada.page.goto(`${server.url}/${room}`, { waitUntil: "domcontentloaded" });
        await ada.page.locator("#name").fill("Ada");
        await poll(() => ada.page.getByRole("button", { name: /Join/ }).isEnabled(), { what: "Join enabled" });
        await check(`${size} pre-join`, ada.page);
        await enter(ada);
        await check(`${size} meeting alone`, ada.page);

        bob = await join(browser, server.url, room, "Bob");
        cy = await join(browser, server.url, room, "Cy");
        await poll(async () => (await ada.page.locator(".tile").count()) === 3, { what: "three tiles" });
        await check(`${size} meeting with three`, ada.page);
        await press(bob.page.getByRole("button", { name: "Share screen" }));
        await poll(async () => (await ada.page.locator("#grid").getAttribute("data-why")) === "presenting", { what: "Bob presenting" });
        await check(`${size} presenting (viewer)`, ada.page);
        await check(`${size} presenting (presenter)`, bob.page);
        await press(bob.page.getByRole("button", { name: "Stop presenting" }));

        await press(ada.page.locator("#ctl-chat"));
        await check(`${size} chat open`, ada.page);
        await ada.page.getByRole("button", { name: "Close" }).first().click();
        await press(ada.page.locator("#ctl-people"));
        await check(`${size} people panel (host)`, ada.page);

        // Password prompt: the host sets one; a newcomer is asked for it.
        await ada.page.locator("#meeting-password").fill("open sesame");
        await ada.page.getByRole("button", { name: "Set password" }).click();
        dee = await openPrejoin(browser, server.url, room, "Dee", opts);
        await dee.page.getByRole("button", { name: /Join/ }).click();
        await dee.page.locator("#password").waitFor({ state: "visible" });
        await check(`${size} password prompt`, dee.page);

        // Waiting room: the host turns it on; a newcomer waits.
        await ada.page.getByRole("button", { name: "Remove password" }).click();
        await ada.page.getByRole("button", { name: "Turn on waiting room" }).click();
        eve = await openPrejoin(browser, server.url, room, "Eve", opts);
        await eve.page.getByRole("button", { name: /Join/ }).click();
        await eve.page.locator("#waiting").waitFor({ state: "visible" });
        await check(`${size} waiting room`, eve.page);

        await press(cy.page.getByRole("button", { name: "Leave meeting" }));
        await cy.page.locator(".ended").waitFor();
        await check(`${size} ended`, cy.page);
      } finally {
        await closeAll(ada, bob, cy, dee, eve);
      }
      assert.deepEqual(found, [], `serious or critical accessibility violations:\n${found.join("\n")}`);
    });
  }
});
