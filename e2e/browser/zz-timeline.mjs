// ad-hoc: timeline of a third joiner through the SFU (not a test)
import { startServer } from "../lib/server.mjs";
import { closeAll, join, launchBrowser, openPrejoin, poll } from "../lib/browser.mjs";
const server = await startServer({ args: ["--media", process.env.MODE ?? "sfu"] });
const browser = await launchBrowser();
for (let i = 0; i < 3; i++) {
  const room = `tl-${i}-${Date.now()}`;
  const a = await join(browser, server.url, room, "A");
  const b = await join(browser, server.url, room, "B");
  const c = await openPrejoin(browser, server.url, room, "C");
  await c.page.evaluate(() => {
    const T = (window.__tl = []);
    const mark = (what) => T.push(`${Math.round(performance.now() - (window.__t0 ?? 0))} ${what}`);
    window.__mark = mark;
    const Orig = window.RTCPeerConnection;
    let n = 0;
    window.RTCPeerConnection = function (...args) {
      const pc = new Orig(...args);
      const id = n++;
      mark(`pc${id} created`);
      pc.addEventListener("connectionstatechange", () => mark(`pc${id} ${pc.connectionState}`));
      pc.addEventListener("iceconnectionstatechange", () => mark(`pc${id} ice ${pc.iceConnectionState}`));
      pc.addEventListener("track", (e) => {
        mark(`pc${id} track ${e.track.kind} ${e.streams[0]?.id}`);
        if (e.track.kind === "video") {
          const v = document.createElement("video");
          v.muted = true;
          v.srcObject = new MediaStream([e.track]);
          v.play().catch(() => {});
          v.requestVideoFrameCallback(() => mark(`pc${id} first frame ${e.streams[0]?.id}`));
        }
      });
      const sld = pc.setLocalDescription.bind(pc);
      pc.setLocalDescription = (d) => (mark(`pc${id} SLD ${d?.type ?? ""}`), sld(d));
      const srd = pc.setRemoteDescription.bind(pc);
      pc.setRemoteDescription = (d) => (mark(`pc${id} SRD ${d?.type}`), srd(d));
      return pc;
    };
    window.RTCPeerConnection.prototype = Orig.prototype;
    document.getElementById("join").addEventListener("click", () => { window.__t0 = performance.now(); T.length = 0; mark("click"); }, { capture: true });
  });
  await c.page.getByRole("button", { name: /Join/ }).click();
  await poll(() => c.page.evaluate(() => [...document.querySelectorAll('.tile[data-self="false"] video')].filter((v) => v.videoWidth > 0).length >= 2), { what: "frames" });
  await new Promise((r) => setTimeout(r, 300));
  console.log((await c.page.evaluate(() => window.__tl)).join("\n"));
  console.log(await c.page.evaluate(() => new Date(performance.timeOrigin + window.__t0).toISOString()));
  console.log("---");
  await closeAll(a, b, c);
}
await browser.close();
const logs = server.logs();
console.log(logs.split("\n").filter((l) => l.startsWith("TL ")).join("\n"));
await server.stop();
