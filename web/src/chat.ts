// Chat messages are data from other people: they are rendered with text
// nodes only, never parsed as HTML. Links are recognised so they can be
// styled, but stay plain text (no anchor a stranger could point anywhere).
import { currentLanguage, t } from "./i18n";
import { humanSize, type ChatFile } from "./files";

export interface ChatMessage {
  id: string;
  from: string;
  name: string;
  text: string;
  ts: number;
  /** The file the message shares; its text is then the file's name. */
  file?: ChatFile;
}

export type ChatSegment = { kind: "text" | "link"; text: string };

const linkPattern = /\bhttps?:\/\/[^\s<>"']+/gi;

/** chatSegments splits a message into text and link-looking runs. */
export function chatSegments(text: string): ChatSegment[] {
  const out: ChatSegment[] = [];
  let last = 0;
  for (const m of text.matchAll(linkPattern)) {
    const at = m.index ?? 0;
    if (at > last) out.push({ kind: "text", text: text.slice(last, at) });
    out.push({ kind: "link", text: m[0] });
    last = at + m[0].length;
  }
  if (last < text.length) out.push({ kind: "text", text: text.slice(last) });
  return out;
}

/** formatTime shows a message time as HH:MM in the viewer's locale. */
export function formatTime(ts: number, locale?: string): string {
  return new Date(ts).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
}

/** The few DOM calls the renderer needs; a real Document satisfies it. */
export interface TextOnlyDocument {
  createElement(tag: string): HTMLElement;
  createTextNode(text: string): Text;
}

/**
 * renderChatMessage builds the list item of one message. Every piece of
 * user data goes through createTextNode / textContent. A message that
 * shares a file is a card with its name, size and a Download button,
 * which calls onDownload.
 */
export function renderChatMessage(doc: TextOnlyDocument, msg: ChatMessage, selfId: string, onDownload?: (f: ChatFile) => void): HTMLElement {
  const li = doc.createElement("li");
  li.className = msg.from === selfId ? "chat-msg self" : "chat-msg";
  const head = doc.createElement("div");
  head.className = "chat-head";
  // <bdi> and dir="auto": a name or message in another script, or with a
  // bidi override, keeps its direction to itself (see text.ts).
  const who = doc.createElement("bdi");
  who.className = "chat-name";
  who.textContent = msg.from === selfId ? t("common.you") : msg.name;
  const when = doc.createElement("time");
  when.className = "chat-time";
  when.setAttribute("datetime", new Date(msg.ts).toISOString());
  when.textContent = formatTime(msg.ts, currentLanguage());
  head.append(who, when);
  if (msg.file) {
    li.append(head, renderFileCard(doc, msg.file, onDownload));
    return li;
  }
  const body = doc.createElement("p");
  body.className = "chat-text";
  body.setAttribute("dir", "auto");
  for (const seg of chatSegments(msg.text)) {
    if (seg.kind === "link") {
      const span = doc.createElement("span");
      span.className = "chat-link";
      span.textContent = seg.text;
      body.append(span);
    } else {
      body.append(doc.createTextNode(seg.text));
    }
  }
  li.append(head, body);
  return li;
}

/** renderFileCard is a shared file: name (as text), size, Download. */
function renderFileCard(doc: TextOnlyDocument, f: ChatFile, onDownload?: (f: ChatFile) => void): HTMLElement {
  const card = doc.createElement("div");
  card.className = "chat-file";
  card.setAttribute("data-file-id", f.id);
  const name = doc.createElement("bdi");
  name.className = "chat-file-name";
  name.setAttribute("dir", "auto");
  name.textContent = f.name;
  const size = doc.createElement("span");
  size.className = "chat-file-size";
  size.textContent = humanSize(f.size, currentLanguage());
  const btn = doc.createElement("button");
  btn.className = "small chat-file-download";
  btn.setAttribute("type", "button");
  btn.setAttribute("aria-label", t("files.downloadName", { name: f.name }));
  btn.textContent = t("files.download");
  btn.onclick = () => onDownload?.(f);
  card.append(name, size, btn);
  return card;
}

/** UnreadCounter counts messages that arrived while the panel was closed. */
export class UnreadCounter {
  private n = 0;
  constructor(private readonly onChange: (n: number) => void) {}
  get count(): number {
    return this.n;
  }
  received(fromSelf: boolean, panelOpen: boolean): void {
    if (fromSelf || panelOpen) return;
    this.n++;
    this.onChange(this.n);
  }
  read(): void {
    if (this.n === 0) return;
    this.n = 0;
    this.onChange(0);
  }
}
