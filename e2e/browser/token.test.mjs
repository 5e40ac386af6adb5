// Join tokens in the browser (--auth token): a meeting link with ?token=
// joins with the token's name and role and leaves no token in the address
// bar; an expired or foreign-room token gets a clear screen, not a meeting.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { binary, startServer } from "../lib/server.mjs";
import { launchBrowser, openPrejoin, poll } from "../lib/browser.mjs";

const secret = "browser-test-secret-0123456789abcdef";

function token(room, name, role, ttl = "1h") {
  return execFileSync(binary, ["token", "--room", room, "--name", name, "--role", role, "--ttl", ttl], {
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

describe("join tokens", () => {
  let server, browser;
  const contexts = [];

  before(async () => {
    server = await startServer({ args: ["--auth", "token"], env: { HUDDLE_AUTH_SECRET: secret } });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.stop();
  });

  test("a link with a token joins, and the token leaves the address bar", async () => {
    const p = await openPrejoin(browser, server.url, `tok-room?token=${token("tok-room", "Hana Host", "host")}`, "Typed Name");
    contexts.push(p.context);
    assert.equal(new URL(p.page.url()).search, "", "the token is still in the address bar");
    await p.page.getByRole("button", { name: /Join/ }).click();
    await p.page.waitForSelector(".meeting", { timeout: 15000 });
    await poll(() => p.page.evaluate(() => window.__huddle?.selfId), { what: "joined" });
    const me = await p.page.evaluate(() => window.__huddle.participants().find((x) => x.self));
    assert.equal(me?.name, "Hana Host", "the token's name wins");
    assert.equal(await p.page.evaluate(() => window.__huddle.host === window.__huddle.selfId), true);
  });

  for (const [what, link, message] of [
    ["expired", () => `tok-room?token=${expiredToken("tok-room")}`, /expired/],
    ["another room's", () => `tok-room?token=${token("elsewhere", "Lost", "guest")}`, /another meeting/],
    ["no", () => "tok-room", /needs an invitation link/],
  ]) {
    test(`${what} token: a clear error screen, never a partial join`, async () => {
      const p = await openPrejoin(browser, server.url, link(), "Someone");
      contexts.push(p.context);
      await p.page.getByRole("button", { name: /Join/ }).click();
      const heading = p.page.locator(".ended h1");
      await heading.waitFor({ timeout: 15000 });
      assert.match((await heading.textContent()) ?? "", message);
      assert.equal(await p.page.locator(".meeting").count(), 0);
    });
  }
});
