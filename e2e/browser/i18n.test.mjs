// Languages: the app follows the browser's language (German here), Arabic
// lays the page out right to left, and the picker changes the language in
// place (no reload), remembered for the next visit. Screenshots of Arabic
// at desktop and phone size go to e2e/artifacts/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/server.mjs";
import { launchBrowser, poll } from "../lib/browser.mjs";

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../artifacts");
// Scale 1: at 2, headless Chromium painted the call at half size in the screenshot
// (the layout itself measured right: 390 px wide, no zoom).
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
const desktop = { viewport: { width: 1280, height: 720 } };

describe("languages", () => {
  let server, browser;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    await fs.mkdir(artifacts, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const open = (locale, size = desktop) => browser.newContext({ locale, permissions: ["camera", "microphone"], ...size });
  const htmlAttrs = (page) => page.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir }));

  test("a German browser gets German on home and pre-join", async () => {
    const context = await open("de-DE");
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await page.getByRole("heading", { name: "Videobesprechungen für Ihr Team, auf Ihrem eigenen Server" }).waitFor();
      assert.deepEqual(await htmlAttrs(page), { lang: "de", dir: "ltr" });
      assert.equal(await page.title(), "Huddle");
      await page.getByRole("textbox", { name: "Besprechungscode oder Link" }).fill("nonsense");
      await page.getByRole("button", { name: "Teilnehmen", exact: true }).click();
      await poll(async () => /abc-defg-hij \(10 Buchstaben\)/.test((await page.locator("#join-error").textContent()) ?? ""), { what: "German error" });
      await page.getByRole("button", { name: "Neue Besprechung" }).click();
      await page.getByRole("heading", { name: "Bereit zum Teilnehmen?" }).waitFor();
      await page.getByRole("button", { name: "Jetzt teilnehmen" }).waitFor();
      await page.getByRole("button", { name: "Kamera ausschalten" }).waitFor();
      await page.getByRole("textbox", { name: "Ihr Name" }).waitFor();
      assert.equal(await page.locator("#lang-prejoin").inputValue(), "de");
    } finally {
      await context.close();
    }
  });

  for (const [label, size] of [
    ["desktop", desktop],
    ["phone", phone],
  ]) {
    test(`Arabic is right to left (${label})`, async () => {
      const context = await open("ar-EG", size);
      try {
        const page = await context.newPage();
        await page.goto(server.url);
        await page.getByRole("button", { name: "اجتماع جديد" }).waitFor();
        assert.deepEqual(await htmlAttrs(page), { lang: "ar", dir: "rtl" });
        // Mirrored: the brand sits at the right edge, the picker at the left.
        const brand = await page.locator(".brand").boundingBox();
        const picker = await page.locator(".home-header .lang-picker").boundingBox();
        assert.ok(brand.x > picker.x, `brand ${brand.x} right of picker ${picker.x}`);
        await page.screenshot({ path: path.join(artifacts, `i18n-ar-home-${label}.png`) });

        await page.getByRole("button", { name: "اجتماع جديد" }).click();
        await page.getByRole("heading", { name: "هل أنت مستعد للانضمام؟" }).waitFor();
        await poll(() => page.evaluate(() => document.querySelector(".preview video").videoWidth > 0), { what: "camera preview" });
        await page.locator("#name").fill("سارة");
        await page.screenshot({ path: path.join(artifacts, `i18n-ar-prejoin-${label}.png`) });

        await page.getByRole("button", { name: "انضم الآن" }).click();
        await page.waitForSelector(".meeting");
        await page.getByRole("button", { name: "إيقاف الميكروفون" }).waitFor();
        await page.getByRole("status").filter({ hasText: "متصل" }).waitFor();
        // The room code is at the start of the top bar, which is the right in Arabic.
        const code = await page.locator(".room-code").boundingBox();
        const conn = await page.locator("#connection-status").boundingBox();
        assert.ok(code.x > conn.x, `room code ${code.x} right of status ${conn.x}`);
        await page.screenshot({ path: path.join(artifacts, `i18n-ar-meeting-${label}.png`) });
        await page.getByRole("button", { name: "تغيير التخطيط" }).click();
        await page.locator("#layout-menu").waitFor();
        await page.screenshot({ path: path.join(artifacts, `i18n-ar-menu-${label}.png`) });
      } finally {
        await context.close();
      }
    });
  }

  test("the picker changes the language in place and remembers it", async () => {
    const context = await open("en-US");
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await page.getByRole("button", { name: "New meeting" }).waitFor();
      await page.evaluate(() => (window.__sameDocument = true));
      await page.getByRole("combobox", { name: "Language" }).selectOption("fr");
      await page.getByRole("button", { name: "Nouvelle réunion" }).waitFor();
      await page.getByRole("textbox", { name: "Code ou lien de la réunion" }).waitFor();
      assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload");
      assert.deepEqual(await htmlAttrs(page), { lang: "fr", dir: "ltr" });

      // Arabic and back, in place: the page turns right to left and back.
      await page.getByRole("combobox", { name: "Langue" }).selectOption("ar");
      await page.getByRole("button", { name: "اجتماع جديد" }).waitFor();
      assert.equal((await htmlAttrs(page)).dir, "rtl");
      await page.getByRole("combobox", { name: "اللغة" }).selectOption("fr");
      await page.getByRole("button", { name: "Nouvelle réunion" }).waitFor();

      // Remembered: a new page load is French, whatever the browser says.
      await page.reload();
      await page.getByRole("button", { name: "Nouvelle réunion" }).waitFor();

      // In a call, from the layout menu: controls, title and tiles change.
      await page.getByRole("button", { name: "Nouvelle réunion" }).click();
      await page.locator("#name").fill("Ada");
      await page.getByRole("button", { name: "Participer" }).click();
      await page.waitForSelector(".meeting");
      await page.getByRole("button", { name: "Désactiver le micro" }).waitFor();
      await page.evaluate(() => (window.__sameDocument = true));
      await page.getByRole("button", { name: "Changer la disposition" }).click();
      await page.locator("#lang-meeting").selectOption("es");
      await page.getByRole("button", { name: "Desactivar micrófono" }).waitFor();
      await page.getByRole("button", { name: "Salir de la reunión" }).waitFor();
      assert.match((await page.locator(".tile-name").first().textContent()) ?? "", /Ada \(tú\)/);
      assert.equal(await page.locator("#connection-status").textContent(), "Conectado");
      assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload");
      await page.keyboard.press("Escape");
      await page.getByRole("button", { name: "Desactivar micrófono" }).click();
      await page.getByRole("button", { name: "Activar micrófono" }).waitFor();
    } finally {
      await context.close();
    }
  });
});
