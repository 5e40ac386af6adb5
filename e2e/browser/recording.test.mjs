// Recording in the browser. With server recording (the default) the host
// records on the server: everyone sees the indicator and a one-time
// notice, a late joiner too, guests have no control and are refused, and
// the host lists and downloads the files through signed one-use links.
// With --recording=false the browser's own recorder stays: stopping
// downloads a WebM file.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startServer } from "../lib/server.mjs";
import { closeAll, enter, expectMediaFrom, join, launchBrowser, openPrejoin, poll } from "../lib/browser.mjs";

const small = { viewport: { width: 800, height: 600 } };

/** ffprobe's streams and duration of a file, or null where ffprobe is missing. */
function ffprobe(file) {
  try {
    execFileSync("ffprobe", ["-version"], { stdio: "ignore" });
  } catch {
    return null;
  }
  const out = execFileSync("ffprobe", ["-v", "error", "-of", "json", "-show_streams", "-show_format", file]);
  const j = JSON.parse(out.toString());
  return { codecs: j.streams.map((s) => `${s.codec_type}:${s.codec_name}`), duration: Number(j.format.duration) };
}

const indicator = (p) => p.page.locator("#recording-indicator");
const toastText = (p, text) => p.page.locator("#toasts .toast", { hasText: text });

describe("server recording", () => {
  let server, browser, ada, bob, cy, dir, composedToast;
  const room = "srv-rec-room";

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "huddle-rec-e2e-"));
    server = await startServer({ args: ["--recordings-dir", dir, "--recording-min-free-disk", "0"] });
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada", small);
    bob = await join(browser, server.url, room, "Bob", small);
    // Cy's tab loads now and joins later: a third page loading on two busy
    // cores is not what the test waits for.
    cy = await openPrejoin(browser, server.url, room, "Cy", small);
    // Two cores shared with other work: give slow pages time.
    for (const p of [ada, bob, cy]) p.page.setDefaultTimeout(60000);
    await expectMediaFrom(ada.page, [bob.id]);
  });

  after(async () => {
    await closeAll(ada, bob, cy);
    await browser?.close();
    await server?.stop();
    if (process.env.RECUI_LOGS) await fs.writeFile(process.env.RECUI_LOGS, server?.logs() ?? "");
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  test("a guest has no record control and the server refuses its list", async () => {
    await ada.page.locator("#ctl-record").waitFor({ state: "visible" });
    assert.ok(await ada.page.locator("#ctl-recordings").isVisible(), "the host has the recordings list");
    assert.ok(await bob.page.locator("#ctl-record").isHidden(), "a guest has no record control");
    assert.ok(await bob.page.locator("#ctl-recordings").isHidden(), "a guest has no recordings list");
    assert.ok(await indicator(bob).isHidden());
    const res = await bob.page.evaluate(() => window.__huddle.recordingList());
    assert.deepEqual(res, { ok: false, code: "not-host" });
  });

  test("the host starts it: everyone sees the indicator and the notice, once", async () => {
    // Notices stay a few seconds: watched for from before the click.
    const told = toastText(bob, "Ada started recording").waitFor();
    await ada.page.getByRole("button", { name: "Start recording" }).click();
    await indicator(ada).waitFor({ state: "visible" });
    await indicator(bob).waitFor({ state: "visible" });
    await told;
    await ada.page.getByRole("button", { name: "Stop recording" }).waitFor();
    // The meeting moved to the SFU, which the recording needs.
    await poll(() => ada.page.evaluate(() => window.__huddle.mode === "sfu"), { what: "the meeting in the SFU" });
  });

  test("a late joiner sees the indicator and the notice", async () => {
    const told = toastText(cy, "This meeting is being recorded").waitFor();
    cy = await enter(cy);
    await indicator(cy).waitFor({ state: "visible" });
    await told;
    assert.ok(await cy.page.locator("#ctl-record").isHidden());
    // Cy publishes to the SFU, so its tracks are in the recording.
    await poll(() => cy.page.evaluate(() => window.__huddle.sfuConnections()[0]?.connectionState === "connected"), {
      timeout: 60000,
      what: "Cy publishing to the SFU",
    });
    // Recorded for a few seconds with all three (content, not timing).
    await new Promise((r) => setTimeout(r, 4000));
  });

  test("the host stops it; the indicator goes for everyone", async () => {
    const told = toastText(bob, "Recording stopped").waitFor();
    const toldHost = toastText(ada, "Recording stopped. The video is being prepared").waitFor();
    // The composition ends a while after the stop; the host is told.
    composedToast = toastText(ada, "The meeting video is ready")
      .waitFor({ timeout: 180000 })
      .then(() => true, (err) => err);
    await ada.page.getByRole("button", { name: "Stop recording" }).click();
    for (const p of [ada, bob, cy]) await indicator(p).waitFor({ state: "hidden" });
    await Promise.all([told, toldHost]);
    // The notice was shown once, not again on the stop.
    assert.equal(await toastText(bob, "Ada started recording").count() <= 1, true);
  });

  test("the host lists the recording with the names and downloads its files", async () => {
    await ada.page.locator("#ctl-recordings").click();
    const item = ada.page.locator("#recordings-list .recording-item").first();
    await item.waitFor();
    const meta = await item.locator(".recording-meta").textContent();
    for (const name of ["Ada", "Bob", "Cy"]) assert.match(meta, new RegExp(name), `names in the list: ${meta}`);
    assert.equal(await ada.page.locator("#recordings-list .recording-item").count(), 1);

    // A track, through its signed link.
    const link = item.locator('a[data-file^="track-"]').first();
    await link.waitFor();
    const downloading = ada.page.waitForEvent("download", { timeout: 60000 });
    await link.click();
    const download = await downloading;
    // The link downloaded (the list may have been redrawn with new links
    // meanwhile, when the composition ended).
    const url = new URL(download.url());
    const href = url.pathname + url.search;
    assert.match(href, /^\/recordings\/[0-9TZ]{16}-[0-9a-f]{32}\/track-\d+\.webm\?exp=.+&sig=[0-9a-f]{64}$/);
    assert.match(download.suggestedFilename(), /^track-\d+\.webm$/);
    const file = await download.path();
    const bytes = await fs.readFile(file);
    assert.ok(bytes.length > 1000, `track is ${bytes.length} bytes`);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], "EBML magic");
    const probe = ffprobe(file);
    if (probe) {
      assert.equal(probe.codecs.length, 1, `streams ${probe.codecs}`);
      assert.match(probe.codecs[0], /^(video:vp8|audio:opus)$/);
      assert.ok(probe.duration > 1, `lasts ${probe.duration} s`);
    }

    // The link was good once; a link without its signature never.
    const used = await fetch(server.url + href);
    assert.equal(used.status, 403);
    assert.equal((await used.json()).error.code, "used");
    const bare = await fetch(server.url + href.split("?")[0]);
    assert.equal(bare.status, 403);
    for (const p of ["/recordings/", href.split("/").slice(0, 3).join("/") + "/"]) {
      assert.equal((await fetch(server.url + p)).status, 404, `${p} is never listed`);
    }

    // The composed video comes after the stop; the host is told, and the
    // list has it.
    const told = await composedToast;
    if (told !== true) throw told;
    const composed = ada.page.locator('#recordings-list a[data-file="composed.mp4"]');
    await composed.waitFor();
    const gettingVideo = ada.page.waitForEvent("download", { timeout: 60000 });
    await composed.click();
    const video = await (await gettingVideo).path();
    const vp = ffprobe(video);
    if (vp) assert.deepEqual(vp.codecs.sort(), ["audio:aac", "video:h264"]);
  });

  test("a guest still cannot list, nor a late joiner", async () => {
    for (const p of [bob, cy]) {
      const conn = await p.page.locator("#connection-status").getAttribute("data-state");
      assert.deepEqual(await p.page.evaluate(() => window.__huddle.recordingList()), { ok: false, code: "not-host" }, `${p.name}, connection ${conn}`);
    }
  });
});

describe("browser recording (server recording off)", () => {
  let server, browser, ada, bob;
  const room = "rec-room";

  before(async () => {
    server = await startServer({ args: ["--recording=false"] });
    browser = await launchBrowser();
    ada = await join(browser, server.url, room, "Ada", small);
    bob = await join(browser, server.url, room, "Bob", small);
    await expectMediaFrom(ada.page, [bob.id]);
  });

  after(async () => {
    await closeAll(ada, bob);
    await browser?.close();
    await server?.stop();
  });

  test("a few seconds record to a downloaded WebM and everyone sees the indicator", async () => {
    assert.ok(await bob.page.locator("#recording-indicator").isHidden());
    assert.ok(await ada.page.locator("#ctl-recordings").isHidden(), "no server list without server recording");
    assert.deepEqual(await ada.page.evaluate(() => window.__huddle.recordingList()), { ok: false, code: "recording-off" });
    await ada.page.getByRole("button", { name: "Start recording" }).click();
    await ada.page.locator("#recording-indicator").waitFor({ state: "visible" });
    await bob.page.locator("#recording-indicator").waitFor({ state: "visible", timeout: 10000 });
    // Let it record a few seconds (this is content, not a timing assertion).
    await new Promise((r) => setTimeout(r, 3000));
    const downloading = ada.page.waitForEvent("download", { timeout: 60000 });
    await ada.page.getByRole("button", { name: "Stop recording" }).click();
    const download = await downloading;
    assert.match(download.suggestedFilename(), /^huddle-rec-room-.*\.webm$/);
    const file = await fs.readFile(await download.path());
    assert.ok(file.length > 10_000, `recording is ${file.length} bytes`);
    assert.deepEqual([...file.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], "EBML magic");
    // Both the video and audio tracks are declared (codec ids in the header).
    const head = file.subarray(0, 4096).toString("latin1");
    assert.match(head, /V_VP[89]/);
    assert.match(head, /A_OPUS/);
    await bob.page.locator("#recording-indicator").waitFor({ state: "hidden", timeout: 10000 });
  });
});
