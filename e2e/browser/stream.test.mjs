// Live streaming from the web app: the host enters an RTMP address and a
// key in the people panel and goes live; a local RTMP receiver (ffmpeg
// -listen 1) gets the meeting; everyone sees the Live badge; killing the
// receiver shows "reconnecting" to the host; the host ends the stream.
// A guest has no stream form.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, join, launchBrowser, poll } from "../lib/browser.mjs";

/** receive starts ffmpeg listening for one RTMP stream, written to file. */
function receive(port, file) {
  const proc = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-i", `rtmp://127.0.0.1:${port}/live/secret-key`, "-c", "copy", "-f", "flv", file], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  proc.logs = () => err;
  return proc;
}

const stateOf = (p) => p.page.locator("#stream-box").getAttribute("data-state");

describe("live streaming from the web app", () => {
  let server, browser, ada, bob, receiver, rtmpPort, dir;
  const room = "stream-room";

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "huddle-stream-"));
    rtmpPort = await freePort();
    server = await startServer({ args: ["--media", "auto", "--stream-allow-private"] });
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada");
    bob = await join(browser, server.url, room, "Bob");
  });

  after(async () => {
    receiver?.kill("SIGKILL");
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the host goes live, everyone sees it, a lost receiver shows reconnecting", async () => {
    try {
      await bob.page.locator("#ctl-people").click();
      assert.equal(await bob.page.locator("#stream-box").count(), 0, "a guest has a stream form");

      receiver = receive(rtmpPort, path.join(dir, "one.flv"));
      await ada.page.locator("#ctl-people").click();
      // A bad address is refused in words before anything is sent.
      await ada.page.locator("#stream-url").fill("http://example.com/live");
      await ada.page.locator("#stream-key").fill("secret-key");
      await ada.page.getByRole("button", { name: "Go live" }).click();
      assert.match(await ada.page.locator(".stream-state").textContent(), /rtmp:\/\/ or rtmps:\/\//);

      await ada.page.locator("#stream-url").fill(`rtmp://127.0.0.1:${rtmpPort}/live`);
      await ada.page.locator("#stream-key").fill("secret-key");
      await ada.page.getByRole("button", { name: "Go live" }).click();
      await poll(async () => (await stateOf(ada)) === "live", { what: "the stream live", timeout: 30000 });
      assert.equal(await ada.page.locator("#stream-key").inputValue(), "", "the key stays in the page");
      assert.doesNotMatch(await ada.page.locator(".stream-state").textContent(), /secret-key/);
      await poll(() => bob.page.locator("#live-indicator").isVisible(), { what: "Bob sees the Live badge" });
      await poll(() => fs.statSync(path.join(dir, "one.flv"), { throwIfNoEntry: false })?.size > 20000, { what: "the receiver gets the stream", timeout: 20000 });

      receiver.kill("SIGKILL");
      await poll(async () => (await stateOf(ada)) === "reconnecting", { what: "reconnecting shown", timeout: 30000 });
      assert.match(await ada.page.locator(".stream-state").textContent(), /reconnecting/i);

      await ada.page.getByRole("button", { name: "End stream" }).click();
      await poll(async () => (await stateOf(ada)) === "stopped", { what: "the stream ended" });
      await poll(async () => !(await bob.page.locator("#live-indicator").isVisible()), { what: "the badge gone for Bob" });
    } catch (err) {
      console.log(dumpLogs(ada, bob));
      console.log(receiver?.logs?.());
      console.log(server.logs().split("\n").filter((l) => /live|stream/i.test(l)).join("\n"));
      throw err;
    }
  });
});
