// The embed API (/external_api.js) in Chromium: a portal page on another
// loopback origin (another port is another origin) embeds a meeting with
// README.md's example, drives
// it with commands and hears its events while a second participant joins
// the ordinary way; a page on an origin not in --embed-origins cannot frame
// the app at all.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { binary, startServer } from "../lib/server.mjs";
import { closeAll, dumpLogs, join, launchBrowser, poll } from "../lib/browser.mjs";

/**
 * readmeExample is the page of README.md's "Embedding Huddle in your site",
 * pointed at huddleURL instead of https://meet.example.com.
 */
function readmeExample(huddleURL) {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("### Embedding Huddle in your site"));
  const m = /```html\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error("README.md: no html example under 'Embedding Huddle in your site'");
  return m[1].replaceAll("https://meet.example.com", huddleURL);
}

/**
 * customExample embeds with the options in the address's fragment (JSON):
 * tokens and other cases README.md's example does not show.
 */
function customExample(huddleURL) {
  return `<div id="meeting" style="width: 960px; height: 540px"></div>
<script src="${huddleURL}/external_api.js"></script>
<script>
  const meeting = new HuddleMeeting(document.getElementById("meeting"), JSON.parse(decodeURIComponent(location.hash.slice(1))));
</script>`;
}

/**
 * hostServer serves /portal, README.md's example, and /custom, and in both
 * a script that keeps every event in window.events. It starts before
 * Huddle (whose --embed-origins names it), so Huddle's address is read per
 * request.
 */
async function hostServer(huddle) {
  const page = (example) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Portal</title></head>
<body>
<h1>Our portal</h1>
${example}
<script>
  window.events = [];
  for (const name of ["ready", "joined", "participantJoined", "participantLeft", "chat", "left", "error"]) {
    meeting.on(name, (data) => events.push({ name, data }));
  }
</script>
</body></html>`;
  const srv = http.createServer((req, res) => {
    const example = { "/portal": readmeExample, "/custom": customExample }[req.url];
    if (!example) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(page(example(huddle().url)));
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

/** openPortal opens the portal page in a context of its own, camera and microphone allowed. */
async function openPortal(browser, portalURL, name, path = "/portal") {
  const context = await browser.newContext({ permissions: ["camera", "microphone"], viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`[${name}] ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`[${name}] pageerror: ${e.message}`));
  await page.goto(portalURL + path, { waitUntil: "domcontentloaded" });
  return { context, page, name, logs };
}

const events = (p, name) => p.page.evaluate((n) => window.events.filter((e) => e.name === n).map((e) => e.data), name);

function waitEvent(p, name, match = () => true, what = name) {
  return poll(async () => (await events(p, name)).find(match), { timeout: 30000, what: `${p.name}: ${what}` });
}

/** meetingFrame is the portal's frame on the Huddle server. */
function meetingFrame(p, huddleURL) {
  return p.page.frames().find((f) => f.url().startsWith(huddleURL + "/"));
}

/** seenBy is what a participant's page knows of participant id. */
function seenBy(page, id) {
  return page.evaluate((i) => window.__huddle.participants().find((x) => x.id === i), id);
}

const secret = "embed-test-secret-0123456789abcdefgh";

function token(room, name, role) {
  return execFileSync(binary, ["token", "--room", room, "--name", name, "--role", role, "--ttl", "1h"], {
    env: { ...process.env, HUDDLE_AUTH_SECRET: secret },
  })
    .toString()
    .trim();
}

/** An HS256 token that expired an hour ago (past the server's leeway). */
function expiredToken(room) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ room, name: "Late", exp: now - 3600, nbf: now - 7200 })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

describe("embedding a meeting", () => {
  let huddle, portal, stranger, browser;
  const people = [];

  before(async () => {
    portal = await hostServer(() => huddle);
    stranger = await hostServer(() => huddle); // the same page on an origin not allowed
    huddle = await startServer({ args: ["--embed-origins", portal.url] });
    browser = await launchBrowser();
  });

  after(async () => {
    await closeAll(...people);
    await browser?.close();
    await portal?.close();
    await stranger?.close();
    await huddle?.stop();
  });

  test("the portal joins, drives the meeting by commands and hears its events", async () => {
    const room = "team-standup"; // README.md's example
    const ada = await openPortal(browser, portal.url, "Ada (portal)");
    people.push(ada);
    try {
      // The name came with the frame: no click on the prejoin screen.
      const joined = await waitEvent(ada, "joined");
      assert.equal(joined.name, "Ada Lovelace");
      assert.equal(joined.room, room);
      const frame = meetingFrame(ada, huddle.url);
      assert.ok(frame, "no frame on the Huddle server");
      await frame.waitForSelector(".meeting", { timeout: 15000 });
      assert.equal(await frame.evaluate(() => window.__huddle.selfId), joined.id);

      // Someone joins the ordinary way.
      const bob = await join(browser, huddle.url, room, "Bob");
      people.push(bob);
      const bobJoined = await waitEvent(ada, "participantJoined", (d) => d.name === "Bob");
      assert.equal(bobJoined.id, bob.id);
      await poll(async () => (await seenBy(bob.page, joined.id))?.audio === true, { timeout: 30000, what: "Bob sees Ada's microphone on" });

      // Commands: what the portal asks for, Bob sees.
      assert.deepEqual(await ada.page.evaluate(() => meeting.toggleAudio()), { audio: false });
      await poll(async () => (await seenBy(bob.page, joined.id))?.audio === false, { timeout: 30000, what: "Bob sees Ada muted" });
      assert.deepEqual(await ada.page.evaluate(() => meeting.toggleVideo()), { video: false });
      await poll(async () => (await seenBy(bob.page, joined.id))?.video === false, { timeout: 30000, what: "Bob sees Ada's camera off" });
      assert.equal(await frame.locator("#ctl-mic").getAttribute("aria-label"), "Turn on microphone", "the frame's own controls follow");
      assert.deepEqual(await ada.page.evaluate(() => meeting.toggleAudio()), { audio: true });

      await ada.page.evaluate(() => meeting.sendChat("hello from the portal"));
      await bob.page.getByRole("button", { name: /Open chat/ }).click();
      await poll(async () => (await bob.page.locator("#chat-panel .chat-text").allTextContents()).includes("hello from the portal"), { timeout: 30000, what: "Bob gets the portal's chat" });
      const own = await waitEvent(ada, "chat", (d) => d.text === "hello from the portal", "its own chat message");
      assert.equal(own.from, joined.id);

      // Chat the other way, as an event.
      await bob.page.locator("#chat-input").fill("hi Ada");
      await bob.page.locator("#chat-input").press("Enter");
      const heard = await waitEvent(ada, "chat", (d) => d.text === "hi Ada", "Bob's chat");
      assert.equal(heard.name, "Bob");
      assert.equal(heard.from, bob.id);

      // A bad argument is refused with a code, not dropped.
      const refused = await ada.page.evaluate(() => meeting.sendChat("").then(() => "sent", (e) => e.code));
      assert.equal(refused, "bad-argument");

      // The API hears its own frame only: a message the portal page posts
      // to itself, in the protocol's very form, is no event.
      await ada.page.evaluate(() => window.postMessage({ huddle: "huddle-embed-1", kind: "event", event: "chat", data: { text: "forged" } }, "*"));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await events(ada, "chat")).some((d) => d.text === "forged"), false, "a forged event was delivered");

      await bob.page.locator("#ctl-leave").click();
      const bobLeft = await waitEvent(ada, "participantLeft", (d) => d.id === bob.id);
      assert.equal(bobLeft.name, "Bob");

      assert.deepEqual(await ada.page.evaluate(() => meeting.hangup()), {});
      const left = await waitEvent(ada, "left");
      assert.equal(left.reason, "left");
      await frame.waitForSelector(".ended", { timeout: 10000 });
      const notJoined = await ada.page.evaluate(() => meeting.toggleAudio().then(() => "done", (e) => e.code));
      assert.equal(notJoined, "not-joined");
      assert.deepEqual(await events(ada, "error"), []);
    } catch (err) {
      console.log(dumpLogs(...people));
      throw err;
    }
  });

  test("a page on an origin not in --embed-origins cannot frame the meeting", async () => {
    const eve = await openPortal(browser, stranger.url, "Eve");
    people.push(eve);
    // Chromium refuses the frame by its CSP and says so in the console.
    await poll(() => eve.logs.some((l) => l.includes("frame-ancestors") && l.includes(portal.url)), { timeout: 15000, what: "a frame-ancestors violation" });
    const frame = eve.page.frames().find((f) => f !== eve.page.mainFrame());
    assert.ok(frame, "the stranger's page has no frame at all");
    // The frame holds Chromium's error page, not the app.
    assert.equal(await frame.evaluate(() => !!document.querySelector("#app")).catch(() => false), false, "the app loaded in the frame");
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await eve.page.evaluate(() => window.events.map((e) => e.name)), [], "events came from a refused frame");
    // Nobody joined the room from there.
    const res = await fetch(`${huddle.url}/metrics`);
    assert.match(await res.text(), /^huddle_rooms 0$/m);
  });

  test("with --auth token: the token's name and role, and a refused token as an error event", async () => {
    let tokenHuddle;
    const site = await hostServer(() => tokenHuddle);
    try {
      tokenHuddle = await startServer({ args: ["--auth", "token", "--embed-origins", site.url], env: { HUDDLE_AUTH_SECRET: secret } });
      const opts = (o) => "/custom#" + encodeURIComponent(JSON.stringify(o));
      const hana = await openPortal(browser, site.url, "Hana (portal)", opts({ room: "board", name: "Typed Name", token: token("board", "Hana Host", "host") }));
      people.push(hana);
      const joined = await waitEvent(hana, "joined");
      assert.equal(joined.name, "Hana Host", "the token's name wins");
      assert.equal(joined.role, "host");
      assert.doesNotMatch(meetingFrame(hana, tokenHuddle.url).url(), /token=/, "the token stayed in the frame's address");

      const late = await openPortal(browser, site.url, "Late (portal)", opts({ room: "board", name: "Late", token: expiredToken("board") }));
      people.push(late);
      const refused = await waitEvent(late, "error");
      assert.equal(refused.code, "auth-expired");
      assert.match(refused.message, /expired/);
      assert.deepEqual(await events(late, "joined"), []);
      await hana.page.evaluate(() => meeting.hangup());
    } finally {
      await tokenHuddle?.stop();
      await site.close();
    }
  });
});
