// The connectivity check page /check in real Chromium against the real
// server: with the embedded relay every row passes and media makes a round
// trip through the relay; without a relay the relay rows say so and the
// summary warns; with WebSockets blocked the page reports the fallback; with
// UDP to the relay dropped (an iptables rule on one loopback port, as root)
// the page says calls will use the TCP relay.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { freePort, startServer } from "../lib/server.mjs";
import { launchBrowser, poll } from "../lib/browser.mjs";

/** runCheck opens /check in a fresh context and returns the finished page. */
async function runCheck(browser, url, { setup } = {}) {
  const context = await browser.newContext();
  if (setup) await setup(context);
  const page = await context.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${url}/check`);
  await waitDone(page, logs);
  return { context, page, logs };
}

async function waitDone(page, logs) {
  try {
    await poll(async () => (await page.locator("main[data-state=done]").count()) === 1, { timeout: 60000, what: "the check to finish" });
  } catch (err) {
    console.log(logs.join("\n"), await readRows(page).catch(() => ""));
    throw err;
  }
}

/** readRows returns {step: {status, label, detail}} from the list on the page. */
function readRows(page) {
  return page.evaluate(() => {
    const out = {};
    for (const li of document.querySelectorAll(".check-list > li")) {
      out[li.dataset.step] = {
        status: li.dataset.status,
        label: li.querySelector(".check-status")?.textContent ?? "",
        detail: li.querySelector(".check-detail")?.textContent ?? "",
      };
    }
    return out;
  });
}

async function summary(page) {
  const el = page.locator("#check-summary");
  return { level: await el.getAttribute("data-level"), text: (await el.textContent()) ?? "", live: await el.getAttribute("aria-live") };
}

/** metric reads one unlabelled value from /metrics. */
async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

describe("connectivity check", () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  describe("with the embedded relay", () => {
    const secret = "check-page-test-secret-0123456789";
    let server, run;
    before(async () => {
      server = await startServer({ turn: true, args: ["--turn-secret", secret] });
      run = await runCheck(browser, server.url);
    });
    after(async () => {
      await run?.context.close();
      await server?.stop();
    });

    test("signaling, relay over UDP and TCP and the media round trip pass", async () => {
      const rows = await readRows(run.page);
      try {
        assert.equal(rows.signaling.status, "pass");
        assert.match(rows.signaling.detail, /WebSocket/);
        assert.equal(rows.servers.status, "pass");
        assert.equal(rows.host.status, "pass");
        assert.equal(rows["relay-udp"].status, "pass");
        assert.equal(rows["relay-tcp"].status, "pass");
        assert.equal(rows.media.status, "pass");
        assert.match(rows.media.detail, /5 of 5 messages came back through the relay over UDP/);
        assert.match(rows.media.detail, /round trip \d+ ms/);
        assert.match(rows.media.detail, /relay to relay/);
        // No TLS relay here: information, not a failure.
        assert.equal(rows["relay-tls"].status, "info");
        assert.match(rows["relay-tls"].detail, /No TLS relay configured/);
      } catch (err) {
        console.log(JSON.stringify(rows, null, 1), run.logs.join("\n"), server.logs().slice(-3000));
        throw err;
      }
      // Status is in words as well as colour.
      for (const [step, r] of Object.entries(rows)) assert.ok(r.label.trim().length > 0, `${step} has a written status`);
      const s = await summary(run.page);
      assert.deepEqual(s, { level: "ready", text: "Your network is ready for calls.", live: "polite" });
    });

    test("the throwaway room is left and the socket closed", async () => {
      await poll(async () => (await metric(server.url, "huddle_rooms")) === 0 && (await metric(server.url, "huddle_participants")) === 0, {
        what: "no rooms and no participants left",
      });
    });

    test("the page carries no relay credentials", async () => {
      const html = await (await fetch(`${server.url}/check`)).text();
      const scripts = [...html.matchAll(/src="([^"]+\.js)"/g)].map((m) => m[1]);
      assert.ok(scripts.length > 0, "the page loads a script");
      for (const src of [html, ...(await Promise.all(scripts.map(async (s) => (await fetch(new URL(s, server.url))).text())))]) {
        assert.ok(!src.includes(secret), "TURN secret in the page");
        assert.ok(!/\bcredential\s*:\s*["'][^"']+["']/.test(src), "a literal credential in the page");
      }
    });

    test("Run again runs the whole check again", async () => {
      const again = run.page.getByRole("button", { name: "Run again" });
      await again.click();
      await poll(async () => (await run.page.locator("main").getAttribute("data-state")) === "running" || (await again.isDisabled()), { what: "a new run" });
      await waitDone(run.page, run.logs);
      const rows = await readRows(run.page);
      assert.equal(rows.media.status, "pass");
      assert.equal((await summary(run.page)).level, "ready");
      assert.ok(await again.isEnabled());
    });
  });

  describe("without a relay", () => {
    let server, run;
    before(async () => {
      server = await startServer(); // --turn=false
      run = await runCheck(browser, server.url);
    });
    after(async () => {
      await run?.context.close();
      await server?.stop();
    });

    test("relay rows say not available with the reason, the summary warns", async () => {
      const rows = await readRows(run.page);
      assert.equal(rows.signaling.status, "pass");
      for (const kind of ["udp", "tcp"]) {
        const r = rows[`relay-${kind}`];
        assert.equal(r.status, "fail", kind);
        assert.equal(r.label, "Not available", kind);
        assert.match(r.detail, new RegExp(`offers no relay over ${kind.toUpperCase()}`));
      }
      assert.equal(rows.media.status, "fail");
      assert.match(rows.media.detail, /no relay/);
      const s = await summary(run.page);
      assert.equal(s.level, "warn");
      assert.match(s.text, /^Calls will work, but this server has no relay/);
    });
  });

  describe("with WebSockets blocked", () => {
    let server, run;
    before(async () => {
      server = await startServer({ turn: true });
      // A proxy that refuses WebSocket upgrades: the socket closes at once.
      run = await runCheck(browser, server.url, {
        setup: (context) => context.routeWebSocket(/\/socket\.io\//, (ws) => ws.close({ code: 1011, reason: "blocked" })),
      });
    });
    after(async () => {
      await run?.context.close();
      await server?.stop();
    });

    test("signaling falls back to long-polling and says so", async () => {
      const rows = await readRows(run.page);
      assert.equal(rows.signaling.status, "warn");
      assert.match(rows.signaling.detail, /WebSockets to this server are blocked; the app will fall back to slower long-polling/);
      // The ICE servers still came over long-polling, so the relay was tested.
      assert.equal(rows["relay-udp"].status, "pass");
      const s = await summary(run.page);
      assert.equal(s.level, "warn");
      assert.match(s.text, /long-polling/);
    });
  });
  describe("with UDP to the relay dropped", () => {
    let server, run, turnPort, rule;
    before(async () => {
      turnPort = await freePort();
      // Only this test's relay port, only UDP, only on loopback.
      rule = ["OUTPUT", "-o", "lo", "-p", "udp", "--dport", String(turnPort), "-j", "DROP", "-m", "comment", "--comment", "huddle-check-test"];
      try {
        execFileSync("iptables", ["-I", ...rule], { stdio: "pipe" });
      } catch (err) {
        rule = null;
        return;
      }
      server = await startServer({ turn: true, turnPort });
      run = await runCheck(browser, server.url);
    });
    after(async () => {
      if (rule) execFileSync("iptables", ["-D", ...rule], { stdio: "pipe" });
      await run?.context.close();
      await server?.stop();
    });

    test("the UDP relay fails with the port, TCP carries the round trip", async (t) => {
      if (!rule) return t.skip("needs iptables as root");
      const rows = await readRows(run.page);
      assert.equal(rows["relay-udp"].status, "fail");
      assert.equal(rows["relay-udp"].detail, `UDP to port ${turnPort} is blocked; calls will use TCP relay.`);
      assert.equal(rows["relay-tcp"].status, "pass");
      assert.equal(rows.media.status, "pass");
      assert.match(rows.media.detail, /through the relay over TCP; round trip \d+ ms/);
      const s = await summary(run.page);
      assert.equal(s.level, "warn");
      assert.match(s.text, /UDP is blocked, so media goes through the relay over TCP/);
    });
  });
});
