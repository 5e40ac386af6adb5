// Host controls through the UI, enforced by the server: password, asking
// to mute, waiting room, removing; and a full meeting.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, openPrejoin, poll } from "../lib/browser.mjs";

describe("host controls", () => {
  let server, browser, ada, bob, cy;
  const room = "host-room";

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    await ada.page.getByRole("button", { name: /Show participants/ }).click();
  });

  after(async () => {
    await closeAll(ada, bob, cy);
    await browser?.close();
    await server?.stop();
  });

  test("a password is asked for and checked", async () => {
    await ada.page.locator("#meeting-password").fill("s3cret");
    await ada.page.getByRole("button", { name: "Set password" }).click();
    await ada.page.getByRole("button", { name: "Remove password" }).waitFor();

    bob = await openPrejoin(browser, server.url, room, "Bob");
    await bob.page.getByRole("button", { name: /Join/ }).click();
    await poll(async () => /needs a password/.test((await bob.page.locator(".join-panel [role=alert]").textContent()) ?? ""), { what: "password message" });
    await bob.page.locator("#password").fill("wrong");
    await bob.page.getByRole("button", { name: /Join/ }).click();
    await poll(async () => await bob.page.getByRole("button", { name: /Join/ }).isEnabled(), { what: "retry possible" });
    assert.equal(await bob.page.locator(".meeting").count(), 0);
    await bob.page.locator("#password").fill("s3cret");
    await bob.page.getByRole("button", { name: /Join/ }).click();
    await bob.page.waitForSelector(".meeting");
    bob.id = await bob.page.evaluate(() => window.__huddle.selfId);
    await expectMediaFrom(ada.page, [bob.id]);
  });

  test("asking to mute mutes the other side", async () => {
    await ada.page.getByRole("button", { name: "Ask Bob to mute" }).click();
    await bob.page.getByRole("button", { name: "Turn on microphone" }).waitFor();
    await poll(async () => (await ada.page.locator(`.tile[data-peer-id="${bob.id}"]`).getAttribute("data-audio")) === "off", { what: "Bob muted" });
    assert.match((await bob.page.locator("#announcer").textContent()) ?? "", /muted you/);
  });

  test("the waiting room holds a guest until admitted", async () => {
    await ada.page.getByRole("button", { name: "Turn on waiting room" }).click();
    await ada.page.getByRole("button", { name: "Turn off waiting room" }).waitFor();
    cy = await openPrejoin(browser, server.url, room, "Cy");
    await cy.page.locator("#password").evaluate((el) => el.closest("label").removeAttribute("hidden"));
    await cy.page.locator("#password").fill("s3cret");
    await cy.page.getByRole("button", { name: /Join/ }).click();
    await cy.page.getByRole("heading", { name: "Asking to join…" }).waitFor();
    await ada.page.getByRole("button", { name: "Admit Cy" }).click();
    await cy.page.locator("#waiting").waitFor({ state: "hidden" });
    cy.id = await cy.page.evaluate(() => window.__huddle.selfId);
    try {
      await expectMediaFrom(cy.page, [ada.id, bob.id]);
    } catch (err) {
      console.log(dumpLogs(ada, bob, cy));
      throw err;
    }
  });

  test("removing a participant", async () => {
    await ada.page.getByRole("button", { name: "Remove Cy from the meeting" }).click();
    await cy.page.getByRole("heading", { name: /removed you/ }).waitFor();
    await poll(async () => (await ada.page.locator(`.tile[data-peer-id="${cy.id}"]`).count()) === 0, { what: "Cy's tile gone" });
    await poll(async () => (await bob.page.locator(`.tile[data-peer-id="${cy.id}"]`).count()) === 0, { what: "Cy's tile gone for Bob" });
    assert.equal(await cy.page.evaluate(() => window.__huddle.localTracks().length), 0);
  });
});

describe("full meeting", () => {
  test("the next person is told the meeting is full", async () => {
    const server = await startServer({ args: ["--max-participants", "1"] });
    const browser = await launchBrowser();
    let a, b;
    try {
      a = await join(browser, server.url, "full-room", "A");
      b = await openPrejoin(browser, server.url, "full-room", "B");
      await b.page.getByRole("button", { name: /Join/ }).click();
      await poll(async () => /full/.test((await b.page.locator(".join-panel [role=alert]").textContent()) ?? ""), { what: "full message" });
    } finally {
      await closeAll(a, b);
      await browser.close();
      await server.stop();
    }
  });
});
