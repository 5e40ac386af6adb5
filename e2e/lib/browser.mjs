// Browser helpers for the meeting app tests: one Chromium, a context per
// participant (own storage and permissions), fake camera and microphone.
import { chromium } from "playwright-core";

export const chromiumArgs = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--autoplay-policy=no-user-gesture-required",
  "--allow-loopback-in-peer-connection",
];

export function launchBrowser() {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });
}

/** poll calls fn until it returns a truthy value or the timeout passes. */
export async function poll(fn, { timeout = 20000, interval = 200, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * openPrejoin opens /{room} in a new context. opts.denyMedia makes
 * getUserMedia reject as a denied permission would; opts.setup(context),
 * if given, runs before the page loads.
 */
export async function openPrejoin(browser, baseUrl, room, name, opts = {}) {
  const context = await browser.newContext({
    permissions: opts.denyMedia ? [] : ["camera", "microphone"],
    acceptDownloads: true,
    viewport: opts.viewport ?? { width: 1280, height: 720 },
    // A phone: { hasTouch: true, isMobile: true, deviceScaleFactor: 3 }.
    ...(opts.device ?? {}),
  });
  // A test's own preparation of the context before the page loads (init
  // scripts, cookies).
  if (opts.setup) await opts.setup(context);
  if (opts.denyMedia) {
    await context.addInitScript(() => {
      const deny = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
      Object.defineProperty(navigator.mediaDevices, "getUserMedia", { value: deny });
    });
  }
  const page = await context.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`[${name}] ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`[${name}] pageerror: ${e.message}`));
  // "load" may never fire while getUserMedia is overridden; the app is
  // ready once the DOM is.
  await page.goto(`${baseUrl}/${room}`, { waitUntil: "domcontentloaded" });
  await page.locator("#name").fill(name);
  return { context, page, name, logs };
}

/** join opens the pre-join page, presses Join and waits for the meeting. */
export async function join(browser, baseUrl, room, name, opts = {}) {
  return enter(await openPrejoin(browser, baseUrl, room, name, opts));
}

/** enter presses Join on a participant's prejoin screen and waits until it is in. */
export async function enter(p) {
  const name = p.name;
  p.joinClickedAt = Date.now();
  await p.page.getByRole("button", { name: /Join/ }).click();
  await p.page.waitForSelector(".meeting", { timeout: 15000 });
  await poll(() => p.page.evaluate(() => window.__huddle?.selfId), { what: `${name} joined` });
  p.id = await p.page.evaluate(() => window.__huddle.selfId);
  return p;
}

/**
 * mediaStats reads getStats() of every peer connection of a page: per
 * remote id, decoded video frames, frame size and audio packets received.
 */
export function mediaStats(page) {
  return page.evaluate(async () => {
    const out = {};
    for (const [id, pc] of window.__huddle.peers()) {
      const s = { framesDecoded: 0, frameWidth: 0, audioPackets: 0, videoTrackId: "", state: pc.connectionState };
      const report = await pc.getStats();
      report.forEach((r) => {
        if (r.type !== "inbound-rtp") return;
        if (r.kind === "video") {
          s.framesDecoded += r.framesDecoded ?? 0;
          s.frameWidth = Math.max(s.frameWidth, r.frameWidth ?? 0);
          s.videoTrackId = r.trackIdentifier ?? "";
        }
        if (r.kind === "audio") s.audioPackets += r.packetsReceived ?? 0;
      });
      out[id] = s;
    }
    // Media through the SFU arrives on one connection; each inbound
    // stream is counted for the participant whose track it carries.
    const owners = window.__huddle.sfuTrackOwners?.() ?? {};
    const [, sub] = window.__huddle.sfuConnections?.() ?? [];
    if (sub) {
      const via = {};
      (await sub.getStats()).forEach((r) => {
        const id = r.type === "inbound-rtp" ? owners[r.trackIdentifier] : undefined;
        if (!id) return;
        const s = (via[id] ??= { framesDecoded: 0, frameWidth: 0, audioPackets: 0, videoTrackId: "", state: sub.connectionState, sfu: true });
        if (r.kind === "video") {
          s.framesDecoded += r.framesDecoded ?? 0;
          s.frameWidth = Math.max(s.frameWidth, r.frameWidth ?? 0);
          s.videoTrackId = r.trackIdentifier ?? "";
        }
        if (r.kind === "audio") s.audioPackets += r.packetsReceived ?? 0;
      });
      // During a move both paths run; the SFU's figures win once it carries media.
      for (const [id, s] of Object.entries(via)) if (!out[id] || s.framesDecoded + s.audioPackets > 0) out[id] = s;
    }
    return out;
  });
}

/**
 * expectMediaFrom waits until page decodes video and receives audio from
 * each of fromIds, then reads the stats again and requires both to grow:
 * media is flowing now, not just once.
 */
export async function expectMediaFrom(page, fromIds, { video = true, audio = true, timeout = 30000 } = {}) {
  const ok = (s) => s && (!video || s.framesDecoded > 0) && (!audio || s.audioPackets > 0);
  const first = await poll(
    async () => {
      const st = await mediaStats(page);
      return fromIds.every((id) => ok(st[id])) ? st : null;
    },
    { timeout, what: `media from ${fromIds.join(", ")}` },
  );
  const second = await poll(
    async () => {
      const st = await mediaStats(page);
      const grew = fromIds.every(
        (id) => (!video || st[id].framesDecoded > first[id].framesDecoded) && (!audio || st[id].audioPackets > first[id].audioPackets),
      );
      return grew ? st : null;
    },
    { timeout: 10000, what: `media still flowing from ${fromIds.join(", ")}` },
  );
  return { first, second };
}

export async function closeAll(...participants) {
  for (const p of participants) await p?.context?.close().catch(() => {});
}

export function dumpLogs(...participants) {
  return participants.flatMap((p) => p?.logs ?? []).join("\n");
}

/**
 * expectTileFrames waits until the tile of id (a participant, or its
 * screen: id~screen) on page shows decoded frames that keep coming, and
 * returns the picture's size.
 */
export async function expectTileFrames(page, id, { timeout = 30000 } = {}) {
  const read = () =>
    page.evaluate((id) => {
      const v = document.querySelector(`.tile[data-peer-id="${id}"] video`);
      if (!v || v.videoWidth === 0) return null;
      return { frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, height: v.videoHeight };
    }, id);
  const first = await poll(read, { timeout, what: `frames in the tile of ${id}` });
  return poll(async () => {
    const now = await read();
    return now && now.frames > first.frames ? now : null;
  }, { timeout: 10000, what: `frames still coming in the tile of ${id}` });
}
