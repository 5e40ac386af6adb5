// The admin dashboard in Chromium: log in with --admin-password, see the
// two participants of a meeting with live figures and charts, remove one
// (their page says so), and keep a screenshot in e2e/artifacts/admin.png.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, expectMediaFrom, join, launchBrowser, poll } from "../lib/browser.mjs";

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../artifacts");
const password = "e2e-admin-password";

describe("admin dashboard", () => {
  let server, browser, ada, bob, adminContext, admin;
  const adminLogs = [];
  const room = "admin-room";

  before(async () => {
    // --media sfu: two people go through the server, which then knows
    // their bitrates, loss and round trip; the relay runs for its card.
    server = await startServer({ turn: true, args: ["--media", "sfu", "--admin-password", password] });
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    bob = await join(browser, server.url, room, "Bob");
    await expectMediaFrom(ada.page, [bob.id]);
    adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    admin = await adminContext.newPage();
    admin.on("dialog", (d) => d.accept()); // the confirm() before an action
    admin.on("pageerror", (e) => adminLogs.push(`[admin] pageerror: ${e.message}`));
    admin.on("console", (m) => adminLogs.push(`[admin] ${m.type()}: ${m.text()}`));
  });

  after(async () => {
    await closeAll(ada, bob);
    await adminContext?.close().catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  test("a wrong password is refused", async () => {
    await admin.goto(`${server.url}/admin`);
    await admin.locator("#password").fill("not-the-password");
    await admin.getByRole("button", { name: "Sign in" }).click();
    await admin.getByText("Wrong password.").waitFor();
    assert.equal(await admin.locator("#rooms").count(), 0);
  });

  test("logged in, it shows both participants with live figures and charts", async () => {
    await admin.goto(`${server.url}/admin`);
    await admin.locator("#password").fill(password);
    await admin.getByRole("button", { name: "Sign in" }).click();
    try {
      await dashboardShowsTheMeeting();
    } catch (err) {
      console.log(adminLogs.join("\n"), await admin.locator("main").innerText().catch(() => ""), dumpLogs(ada, bob));
      throw err;
    }
  });

  // figures reads what the dashboard shows, in one round trip (on a
  // loaded machine each of Playwright's costs up to seconds). Rows are
  // found by name: a participant that drops may come back with a new id.
  const figures = () => admin.evaluate(() => {
    const row = (name) => [...document.querySelectorAll("tr[data-participant]")].find((tr) => tr.querySelector(".name").textContent.startsWith(name));
    const text = (el, sel) => el?.querySelector(sel)?.textContent.trim() ?? null;
    const drawn = (c) => {
      if (!c || !c.width) return false;
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
      return false;
    };
    const ada = row("Ada"), bob = row("Bob");
    return {
      live: !!document.querySelector("#live.on"),
      snapshots: Number(document.body.dataset.snapshots ?? 0),
      media: text(document, "article.room .media"),
      ada: ada && { up: text(ada, ".up"), chart: drawn(ada.querySelector("canvas")) },
      bob: bob && { rtt: text(bob, ".rtt") },
      goroutines: text(document, '.card[data-metric="goroutines"] .value'),
      relay: text(document, '.card[data-metric="relay"] .value'),
      memoryChart: drawn(document.querySelector('.card[data-metric="memory"] canvas')),
    };
  });

  async function dashboardShowsTheMeeting() {
    await poll(async () => (await figures()).live, { what: "the stream's first snapshot", timeout: 30000 });
    await poll(async () => { const f = await figures(); return f.ada && f.bob; }, { what: "both names" });
    assert.match((await figures()).media, /SFU/);
    // Bitrates come from the SFU's counts between two snapshots, and they
    // change as the fake camera sends.
    await poll(async () => /[1-9]\d* kb\/s|Mb\/s/.test((await figures()).ada?.up), { what: "Ada's bitrate", timeout: 30000 });
    const seen = new Set();
    await poll(async () => {
      const f = await figures();
      seen.add(`${f.ada?.up}|${f.goroutines}`);
      return seen.size >= 3;
    }, { what: "numbers updating", timeout: 30000 });
    await poll(async () => /ms/.test((await figures()).bob?.rtt), { what: "Bob's round trip", timeout: 30000 });
    // The charts are drawn: some pixel of their canvases is not blank.
    await poll(async () => { const f = await figures(); return f.memoryChart && f.ada?.chart; }, { what: "charts drawn" });
    assert.match((await figures()).relay, /^\d+ \d+ kb\/s/);
    // Some history, so that the screenshot's charts are lines.
    await poll(async () => (await figures()).snapshots >= 15, { what: "15 snapshots", timeout: 30000 });
    mkdirSync(artifacts, { recursive: true });
    await admin.screenshot({ path: path.join(artifacts, "admin.png"), fullPage: true });
  }

  test("removing a participant takes them out", async () => {
    try {
      await admin.getByRole("button", { name: "Remove Bob" }).click();
      await bob.page.getByRole("heading", { name: /removed you/ }).waitFor({ timeout: 10000 });
      await poll(async () => (await admin.locator("td.name", { hasText: "Bob" }).count()) === 0, { what: "Bob gone from the dashboard" });
      assert.equal(await admin.locator("td.name", { hasText: "Ada" }).count(), 1);
      // Signing out clears the session: the form is back, the data gone.
      await admin.getByRole("button", { name: "Sign out" }).click();
      await admin.locator("#password").waitFor();
      assert.equal(await admin.evaluate(async () => (await fetch("/admin/snapshot")).status), 401);
    } catch (err) {
      console.log(dumpLogs(ada, bob));
      throw err;
    }
  });
});
