// Files in chat, two people in Chromium: Ada picks a file with the
// paperclip (and drops another on the chat), Bob (phone size) sees its card with name and size and
// downloads the same bytes; a file over the server's limit is refused in
// Ada's chat (the server's own 413 is tested in Go: internal/files and
// internal/server); a request without a member's token is 403; when the
// meeting ends its files
// leave the disk and the old link is 404. Screenshots at desktop and
// phone size.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, enter, join, launchBrowser, poll } from "../lib/browser.mjs";

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../artifacts");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** audit runs axe-core on page (as a11y.test.mjs does) and returns its serious and critical violations. */
async function audit(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const r = await window.axe.run({ exclude: [[".toast.leaving"]] }, { resultTypes: ["violations"] });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
}

describe("files in chat", () => {
  let server, browser, ada, bob, dir;
  const room = "files-room";
  const limit = 200_000; // 200 kB
  const data = crypto.randomBytes(123_456);
  const name = "Bericht März <b>1.bin";
  let fileId = "";

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "huddle-e2e-files-"));
    server = await startServer({ args: ["--chat-files-dir", dir, "--chat-file-max-bytes", String(limit)] });
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    bob = await join(browser, server.url, room, "Bob", { viewport: { width: 390, height: 844 } });
    await fs.mkdir(artifacts, { recursive: true });
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test("a picked file reaches the other as a card, and downloads to the same bytes", async () => {
    try {
      await ada.page.getByRole("button", { name: /Open chat/ }).click();
      await ada.page.getByRole("button", { name: "Share a file" }).waitFor();
      await ada.page.locator("#chat-file-input").setInputFiles({ name, mimeType: "application/octet-stream", buffer: data });

      await bob.page.getByRole("button", { name: /Open chat/ }).click();
      const card = bob.page.locator(".chat-file");
      await card.waitFor({ timeout: 15000 });
      // The name is text: no <b> element came of it.
      assert.equal(await card.locator(".chat-file-name").textContent(), name);
      assert.equal(await card.locator("b").count(), 0);
      assert.equal(await card.locator(".chat-file-size").textContent(), "123 kB");
      assert.match((await bob.page.locator(".chat-msg .chat-name").last().textContent()) ?? "", /Ada/);
      fileId = (await card.getAttribute("data-file-id")) ?? "";
      assert.match(fileId, /^[0-9a-f]{32}$/);
      // Ada sees her own card and that it went.
      await ada.page.locator(".chat-file").waitFor();
      await poll(async () => /shared/.test((await ada.page.locator("#chat-file-status").textContent()) ?? ""), { what: "Ada told her file was shared" });
      await ada.page.screenshot({ path: path.join(artifacts, "files-desktop.png") });
      await bob.page.screenshot({ path: path.join(artifacts, "files-phone.png") });
      assert.deepEqual(await audit(ada.page), [], "axe on Ada's chat with a file");
      assert.deepEqual(await audit(bob.page), [], "axe on Bob's chat with a file (phone)");

      const [download] = await Promise.all([bob.page.waitForEvent("download"), card.getByRole("button", { name: `Download ${name}` }).click()]);
      // Saved under its name (Chromium makes "<" and ">" safe for the disk).
      assert.equal(download.suggestedFilename(), name.replace(/[<>]/g, "_"));
      const got = await fs.readFile(await download.path());
      assert.ok(got.equals(data), `downloaded ${got.length} bytes, not the ${data.length} shared`);
      // On disk under the store's folder, by id only.
      const stored = await fs.readFile(path.join(dir, (await fs.readdir(dir))[0], room, fileId));
      assert.ok(stored.equals(data));

      // Dropped on the chat panel: shared as well.
      await ada.page.evaluate(() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["hello"], "dropped.txt", { type: "text/plain" }));
        const panel = document.getElementById("chat-panel");
        const over = new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true });
        panel.dispatchEvent(over);
        if (!over.defaultPrevented || !panel.classList.contains("dropping")) throw new Error("the panel does not take the drag");
        panel.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      const dropped = bob.page.locator(".chat-file").nth(1);
      await dropped.waitFor();
      assert.equal(await dropped.locator(".chat-file-name").textContent(), "dropped.txt");
      assert.equal(await dropped.locator(".chat-file-size").textContent(), "5 bytes");
    } catch (err) {
      console.log(dumpLogs(ada, bob), server.logs());
      throw err;
    }
  });

  test("a file over the limit is refused in the sender's chat", async () => {
    try {
      const before = await bob.page.locator(".chat-file").count();
      await ada.page.locator("#chat-file-input").setInputFiles({ name: "huge.iso", mimeType: "application/octet-stream", buffer: Buffer.alloc(limit + 1) });
      const status = ada.page.locator("#chat-file-status");
      await poll(async () => /huge\.iso.*too large.*200 kB/.test((await status.textContent()) ?? ""), { what: "the refusal in Ada's chat" });
      assert.ok(await status.isVisible());
      await ada.page.screenshot({ path: path.join(artifacts, "files-refused-desktop.png") });
      assert.deepEqual(await audit(ada.page), [], "axe on the refusal");
      // A page without the participant's token (anyone else's fetch) is
      // no member, whatever it sends.
      const res = await ada.page.evaluate(async () => {
        const r = await fetch(`/files/files-room`, { method: "POST", body: new Uint8Array(10) });
        return { status: r.status, body: await r.json() };
      });
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, "not-member");
      await bob.page.waitForTimeout(500);
      assert.equal(await bob.page.locator(".chat-file").count(), before, "a refused file reached Bob");
    } catch (err) {
      console.log(dumpLogs(ada, bob), server.logs());
      throw err;
    }
  });

  test("when the meeting ends its files are deleted and the link is 404", async () => {
    try {
      assert.equal((await ada.page.evaluate((id) => window.__huddle.fileStatus(id), fileId)).status, 200);
      // On a phone the chat is a full-screen sheet: closed first.
      await bob.page.locator("#chat-panel .panel-close").click();
      await bob.page.locator("#ctl-leave").click();
      await ada.page.locator("#ctl-leave").click();
      await poll(
        async () => {
          const roots = await fs.readdir(dir);
          return roots.length === 1 && !(await fs.readdir(path.join(dir, roots[0]))).includes(room);
        },
        { what: "the meeting's folder deleted" },
      );
      // Ada starts the meeting again: the old file is not in it.
      await ada.page.getByRole("button", { name: "Rejoin" }).click();
      await ada.page.locator("#name").waitFor();
      await enter(ada);
      const gone = await ada.page.evaluate((id) => window.__huddle.fileStatus(id), fileId);
      assert.equal(gone.status, 404);
      assert.equal(gone.code, "not-found");
    } catch (err) {
      console.log(dumpLogs(ada, bob), server.logs());
      throw err;
    }
  });
});
