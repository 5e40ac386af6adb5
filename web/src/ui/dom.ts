// DOM helpers. Everything user-provided becomes a text node: h() turns
// string children into text and there is no innerHTML anywhere in the app.
//
// Interface text is a Msg (i18n.ts), given to h() as a child or an
// attribute, or set with setText / setAttr. The page remembers which
// message each text node and attribute shows, and re-words them all when
// the language changes, without rebuilding views (a call, a camera preview
// or a running check keep going).

import { isMsg, onLanguageChange, text, type Msg } from "../i18n";
import { isolatedParts, plainText } from "../text";

type Child = Node | string | Msg | null | undefined | false;
type Attrs = Record<string, string | number | boolean | Msg | null | undefined | ((e: any) => void)>;

const textMsgs = new WeakMap<Text, Msg>();
const attrMsgs = new WeakMap<Element, Map<string, Msg>>();

/** msgNode is a text node showing m, kept in the current language. */
export function msgNode(m: Msg): Text {
  const node = document.createTextNode(text(m));
  textMsgs.set(node, m);
  return node;
}

/** setText replaces el's content with m (a Msg follows the language; a string is shown as is). */
export function setText(el: Element, m: Msg | string): void {
  el.replaceChildren(typeof m === "string" ? document.createTextNode(m) : msgNode(m));
}

/** setAttr sets an attribute to m; a Msg follows the language. */
export function setAttr(el: Element, name: string, m: Msg | string): void {
  let map = attrMsgs.get(el);
  if (typeof m === "string") map?.delete(name);
  else {
    if (!map) attrMsgs.set(el, (map = new Map()));
    map.set(name, m);
  }
  el.setAttribute(name, text(m));
}

/** relabel re-words every message shown under root (after a change of language). */
export function relabel(root: Node = document.body): void {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const m = textMsgs.get(n as Text);
    if (m) n.nodeValue = text(m);
  }
  const els = root instanceof Element ? [root, ...root.querySelectorAll("*")] : (root as ParentNode).querySelectorAll("*");
  for (const el of els) {
    const map = attrMsgs.get(el);
    if (map) for (const [name, m] of map) el.setAttribute(name, text(m));
  }
}

if (typeof document !== "undefined") onLanguageChange(() => relabel(document.body));

/** h creates an element; on* attributes become listeners, strings text. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (isMsg(v)) setAttr(el, k, v);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : isMsg(c) ? msgNode(c) : c);
  }
}

const svgNS = "http://www.w3.org/2000/svg";

/** Stroke icons drawn for Huddle (24x24 grid). */
const icons = {
  mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z M6 11a6 6 0 0 0 12 0 M12 17v4 M9 21h6",
  micOff: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z M6 11a6 6 0 0 0 12 0 M12 17v4 M9 21h6 M4 4l16 16",
  cam: "M3 7h12v10H3z M15 10.5l6-3.5v10l-6-3.5",
  camOff: "M3 7h12v10H3z M15 10.5l6-3.5v10l-6-3.5 M3 3l18 18",
  screen: "M3 5h18v11H3z M8 20h8 M12 16v4 M12 13V8 M9.5 10.5L12 8l2.5 2.5",
  chat: "M4 5h16v11H9l-5 4z M8 9h8 M8 12h5",
  record: "M12 12m-7 0a7 7 0 1 0 14 0a7 7 0 1 0-14 0 M12 12m-3 0a3 3 0 1 0 6 0a3 3 0 1 0-6 0",
  people: "M9 11a3 3 0 1 0 0-6a3 3 0 0 0 0 6z M3 20c0-3.3 2.7-6 6-6s6 2.7 6 6 M16 5.2a3 3 0 0 1 0 5.6 M18 14.5c1.8.9 3 3 3 5.5",
  link: "M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1 M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1",
  leave: "M3 15c5-5 13-5 18 0l-2.5 2.5-3.5-1.5v-2.5c-2-.7-4-.7-6 0V16l-3.5 1.5z",
  lock: "M6 11h12v9H6z M8 11V8a4 4 0 0 1 8 0v3",
  close: "M6 6l12 12 M18 6L6 18",
  send: "M4 12l16-8-6 16-2-7z",
  plus: "M12 5v14 M5 12h14",
  hand: "M8 13V6.5a1.5 1.5 0 0 1 3 0V12 M11 11V4.5a1.5 1.5 0 0 1 3 0V12 M14 11V6a1.5 1.5 0 0 1 3 0v8c0 4-2.5 7-6.5 7-3 0-4.5-1.5-6-4l-2-3.5a1.5 1.5 0 0 1 2.5-1.5L8 13",
  smile: "M12 12m-9 0a9 9 0 1 0 18 0a9 9 0 1 0-18 0 M8 14.5c2 2.5 6 2.5 8 0 M9 9.5h.01 M15 9.5h.01",
  layout: "M3 4h18v12H3z M3 19h5 M10 19h4 M16 19h5",
  pin: "M9 4h6 M10 4v6l-3 4h10l-3-4V4 M12 14v6",
  download: "M12 4v11 M7.5 10.5L12 15l4.5-4.5 M5 19h14",
  clip: "M16.5 7.5l-7 7a1.8 1.8 0 0 0 2.5 2.5l7.2-7.2a3.5 3.5 0 0 0-5-5L7 12a5.2 5.2 0 0 0 7.4 7.4l5.1-5.1",
  globe: "M12 12m-9 0a9 9 0 1 0 18 0a9 9 0 1 0-18 0 M3 12h18 M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8 9 M12 3c-2.5 2.7-3.8 5.7-3.8 9s1.3 6.3 3.8 9",
} as const;

export type IconName = keyof typeof icons;

export function icon(name: IconName): SVGSVGElement {
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `icon icon-${name}`);
  const path = document.createElementNS(svgNS, "path");
  path.setAttribute("d", icons[name]);
  svg.append(path);
  return svg;
}

/** announce speaks a message through the page's aria-live region. */
export function announce(m: Msg | string): void {
  const region = document.getElementById("announcer");
  if (!region) return;
  const line = document.createElement("div");
  line.textContent = plainText(text(m));
  region.append(line);
  while (region.childElementCount > 5) region.firstElementChild?.remove();
}

/**
 * toast shows a short notice and announces it. Names in it marked with
 * isolate() are shown in <bdi> elements and read without the marks.
 */
export function toast(m: Msg | string, ms = 4000): void {
  const words = text(m);
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", class: "toasts" });
    document.body.append(box);
  }
  const parts = isolatedParts(words).map((p) => (p.isolated ? h("bdi", {}, p.text) : p.text));
  const t = h("div", { class: "toast" }, ...parts);
  box.append(t);
  announce(words);
  setTimeout(() => {
    t.classList.add("leaving");
    setTimeout(() => t.remove(), 300);
  }, ms);
}

/** A view owns an element and knows how to let go of its resources. */
export interface View {
  el: HTMLElement;
  dispose(): void;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? "?").slice(0, 1);
  return s.toUpperCase();
}

/**
 * whenIdle runs f once the page is idle (at most a second from now), and
 * returns what cancels it.
 */
export function whenIdle(f: () => void): () => void {
  if (typeof requestIdleCallback === "function") {
    const id = requestIdleCallback(() => f(), { timeout: 1000 });
    return () => cancelIdleCallback(id);
  }
  const id = setTimeout(f, 200);
  return () => clearTimeout(id);
}

/**
 * clockTime is the time of day, hours and minutes, as the language writes
 * it. A page's first date format loads the locale's date data: 20 ms on
 * a quiet machine, 50-70 ms on a busy one. The pre-join page calls it once
 * while idle, so that this cost is not paid inside the join, where it
 * delayed the media connections set up right after.
 */
export function clockTime(language: string): string {
  return new Date().toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
}
