// Meeting codes look like "abc-defg-hij": ten lowercase letters drawn from
// crypto.getRandomValues, about 47 bits, so codes cannot be guessed by
// walking through them.
import { t } from "./i18n";

const letters = "abcdefghijklmnopqrstuvwxyz";
const groups = [3, 4, 3];
const codePattern = /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/;
const roomPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** A source of random bytes; crypto.getRandomValues in the browser. */
export type RandomFill = (bytes: Uint8Array) => Uint8Array;

const cryptoFill: RandomFill = (bytes) => crypto.getRandomValues(bytes);

/**
 * newMeetingCode returns a fresh code. Bytes at or above 234 (= 26 * 9) are
 * thrown away so that every letter is equally likely.
 */
export function newMeetingCode(fill: RandomFill = cryptoFill): string {
  const total = groups.reduce((a, b) => a + b, 0);
  const picked: string[] = [];
  const limit = 256 - (256 % letters.length);
  while (picked.length < total) {
    for (const b of fill(new Uint8Array(total * 2))) {
      if (b < limit && picked.length < total) picked.push(letters[b % letters.length]);
    }
  }
  const out: string[] = [];
  let at = 0;
  for (const n of groups) {
    out.push(picked.slice(at, at + n).join(""));
    at += n;
  }
  return out.join("-");
}

/** isMeetingCode reports whether s is exactly a code like abc-defg-hij. */
export function isMeetingCode(s: string): boolean {
  return codePattern.test(s);
}

/**
 * isRoomId reports whether s is a room id the server accepts (1-64 of
 * A-Z a-z 0-9 - _). Links may point at rooms made by other clients.
 */
export function isRoomId(s: string): boolean {
  return roomPattern.test(s);
}

export type ParsedCode = { ok: true; code: string } | { ok: false; error: string };

/**
 * parseMeetingInput accepts what people paste into the "join" field: a code
 * (any case, with or without dashes or spaces) or a link whose path is a
 * code.
 */
export function parseMeetingInput(input: string): ParsedCode {
  let s = input.trim();
  if (s === "") return { ok: false, error: t("code.empty") };
  if (s.includes("/")) {
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `https://${s}`);
    } catch {
      return { ok: false, error: t("code.invalidLink") };
    }
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts.length !== 1) return { ok: false, error: t("code.notMeeting") };
    s = decodeURIComponent(parts[0]);
  }
  const compact = s.toLowerCase().replace(/[\s-]/g, "");
  if (!/^[a-z]{10}$/.test(compact)) {
    return { ok: false, error: t("code.format") };
  }
  return { ok: true, code: `${compact.slice(0, 3)}-${compact.slice(3, 7)}-${compact.slice(7)}` };
}
