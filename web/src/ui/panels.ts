// Side panels: chat, and the participant list with host controls.
import { StreamBox } from "./stream-box";
import { renderChatMessage, UnreadCounter, type ChatMessage } from "../chat";
import { fileErrorMessage, FileError, type ChatFile } from "../files";
import type { Meeting, Participant } from "../meeting";
import { describeError, SignalingError } from "../signaling";
import { isolate } from "../text";
import { currentLanguage, msg, type Msg } from "../i18n";
import { h, icon, setAttr, setText, toast } from "./dom";

function failed(err: unknown): void {
  toast(err instanceof SignalingError ? describeError(err.code, err.message) : msg("common.failed"));
}

export class ChatPanel {
  /** The panel's close button was pressed. */
  onClose: () => void = () => {};
  readonly el: HTMLElement;
  readonly unread: UnreadCounter;
  private list = h("ol", { class: "chat-list", "aria-label": msg("chat.messages") });
  private input = h("input", { id: "chat-input", type: "text", placeholder: msg("chat.placeholder"), autocomplete: "off", "aria-label": msg("chat.inputLabel") });
  /** The picker behind the paperclip; hidden, the button opens it. */
  private fileInput = h("input", { type: "file", id: "chat-file-input", multiple: true, hidden: true, tabindex: "-1", "aria-hidden": "true" });
  /** Sending progress, and why a file was refused. */
  private fileStatus = h("p", { class: "chat-file-status", id: "chat-file-status", role: "status", hidden: true });
  private attachBtn: HTMLButtonElement;
  /** Files go one after the other. */
  private sending: Promise<void> = Promise.resolve();
  private statusTimer: ReturnType<typeof setTimeout> | undefined;
  open = false;

  constructor(
    private readonly meeting: Meeting,
    onUnread: (n: number) => void,
  ) {
    this.unread = new UnreadCounter(onUnread);
    const sendBtn = h("button", { type: "submit", class: "icon-button", "aria-label": msg("chat.sendLabel") }, msg("chat.send"));
    this.attachBtn = h("button", { type: "button", class: "icon-button chat-attach", id: "chat-attach", "aria-label": msg("files.attach"), title: msg("files.attach"), hidden: !meeting.mayShareFiles, onclick: () => this.fileInput.click() }, icon("clip"));
    this.fileInput.addEventListener("change", () => {
      if (this.fileInput.files) this.shareFiles(this.fileInput.files);
      this.fileInput.value = "";
    });
    const form = h(
      "form",
      {
        class: "chat-form",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const text = this.input.value.trim();
          if (!text) return;
          this.input.value = "";
          try {
            await meeting.sendChat(text);
          } catch (err) {
            this.input.value = text;
            failed(err);
          }
        },
      },
      this.attachBtn,
      this.input,
      sendBtn,
    );
    this.el = h(
      "section",
      { class: "panel chat-panel", id: "chat-panel", "aria-label": msg("chat.label"), hidden: true },
      panelHead(msg("chat.title"), () => this.onClose()),
      h("p", { class: "panel-note" }, msg("chat.note")),
      this.list,
      this.fileStatus,
      form,
      this.fileInput,
    );
    setAttr(this.el, "data-drop", msg("files.dropHere"));
    this.acceptDrops();
    for (const m of meeting.chat) this.add(m, true);
  }

  /** acceptDrops shares the files dropped on the panel. */
  private acceptDrops(): void {
    // A file dropped here never opens in the tab (which would leave the
    // meeting), even where it cannot be shared: then the panel says why.
    const hasFiles = (e: DragEvent) => !!e.dataTransfer && Array.from(e.dataTransfer.types).includes("Files");
    this.el.addEventListener("dragover", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer!.dropEffect = this.meeting.mayShareFiles ? "copy" : "none";
      if (this.meeting.mayShareFiles) this.el.classList.add("dropping");
    });
    this.el.addEventListener("dragleave", (e) => {
      if (!this.el.contains(e.relatedTarget as Node | null)) this.el.classList.remove("dropping");
    });
    this.el.addEventListener("drop", (e) => {
      this.el.classList.remove("dropping");
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (this.meeting.mayShareFiles) this.shareFiles(e.dataTransfer!.files);
      else this.refused(this.meeting.role === "viewer" ? "viewer" : "failed", e.dataTransfer!.files[0]?.name ?? "");
    });
  }

  private shareFiles(list: FileList): void {
    for (const f of Array.from(list)) this.sending = this.sending.then(() => this.shareOne(f));
  }

  /** shareOne sends a file, showing its progress, then that it went or why not. */
  private async shareOne(f: File): Promise<void> {
    const percent = new Intl.NumberFormat(currentLanguage(), { style: "percent" });
    const progress = (sent: number) => setText(this.fileStatus, msg("files.sending", { name: isolate(f.name), progress: percent.format(f.size ? Math.min(1, sent / f.size) : 1) }));
    clearTimeout(this.statusTimer);
    this.fileStatus.hidden = false;
    this.fileStatus.classList.remove("error");
    progress(0);
    try {
      await this.meeting.shareFile(f, progress);
      setText(this.fileStatus, msg("files.sent", { name: isolate(f.name) }));
      this.statusTimer = setTimeout(() => (this.fileStatus.hidden = true), 4000);
    } catch (err) {
      this.refused(err instanceof FileError ? err.code : "failed", f.name);
    }
  }

  /** refused says why a file was not shared; it stays until the next file, to be read. */
  private refused(code: string, name: string): void {
    clearTimeout(this.statusTimer);
    this.fileStatus.hidden = false;
    this.fileStatus.classList.add("error");
    setText(this.fileStatus, fileErrorMessage(code, name, this.meeting.fileMaxBytes, false, currentLanguage()));
  }

  /** download saves a shared file; a refusal (we left, the meeting ended) is a toast. */
  private download = (f: ChatFile): void => {
    this.meeting.downloadFile(f).catch((err) => toast(fileErrorMessage(err instanceof FileError ? err.code : "failed", f.name, this.meeting.fileMaxBytes, true, currentLanguage())));
  };

  add(m: ChatMessage, history = false): void {
    this.list.append(renderChatMessage(document, m, this.meeting.selfId, this.download));
    this.list.scrollTop = this.list.scrollHeight;
    if (!history) this.unread.received(m.from === this.meeting.selfId, this.open);
  }

  show(open: boolean): void {
    this.open = open;
    this.el.hidden = !open;
    if (open) {
      this.attachBtn.hidden = !this.meeting.mayShareFiles;
      this.unread.read();
      this.input.focus();
    }
  }
}

export class PeoplePanel {
  readonly el: HTMLElement;
  private list = h("ul", { class: "people-list", "aria-label": msg("people.label") });
  private hostBox = h("div", { class: "host-box" });
  private waitingBox = h("div", { class: "waiting-box" });
  private handsBox = h("div", { class: "hands-box", id: "raised-hands" });
  private waiting: { id: string; name: string }[] = [];
  /** The panel's close button was pressed. */
  onClose: () => void = () => {};
  /** The host's live-stream form, kept across renders. */
  readonly stream: StreamBox;
  open = false;

  constructor(private readonly meeting: Meeting) {
    this.stream = new StreamBox(meeting);
    this.el = h(
      "section",
      { class: "panel people-panel", id: "people-panel", "aria-label": msg("people.label"), hidden: true },
      panelHead(msg("people.title"), () => this.onClose()),
      this.waitingBox,
      this.handsBox,
      this.list,
      this.hostBox,
    );
    this.render();
  }

  setWaiting(w: { id: string; name: string }[]): void {
    const before = new Set(this.waiting.map((x) => x.id));
    this.waiting = w;
    for (const x of w) if (!before.has(x.id)) toast(msg("people.asking", { name: isolate(x.name) }));
    this.render();
  }

  show(open: boolean): void {
    this.open = open;
    this.el.hidden = !open;
  }

  render(): void {
    const m = this.meeting;
    const people = [...m.participants.values()].sort((a, b) => Number(b.self) - Number(a.self));
    this.list.replaceChildren(...people.map((p) => this.row(p)));
    this.waitingBox.replaceChildren();
    if (m.isHost && this.waiting.length > 0) {
      this.waitingBox.append(
        h("h3", {}, msg("people.waiting")),
        h(
          "ul",
          { class: "people-list" },
          ...this.waiting.map((w) =>
            h(
              "li",
              { class: "person" },
              h("bdi", { class: "person-name" }, w.name),
              h("button", { type: "button", class: "small", "aria-label": msg("people.admitName", { name: w.name }), onclick: () => m.admit(w.id).catch(failed) }, msg("people.admit")),
              h("button", { type: "button", class: "small ghost", "aria-label": msg("people.denyName", { name: w.name }), onclick: () => m.deny(w.id).catch(failed) }, msg("people.deny")),
            ),
          ),
        ),
      );
    }
    this.renderHands();
    this.hostBox.replaceChildren();
    if (m.isHost) this.hostBox.append(this.hostControls(), this.stream.el);
  }

  /** renderHands lists the raised hands in the order they went up. */
  private renderHands(): void {
    const m = this.meeting;
    const raised = m.hands.map((x) => m.participants.get(x.id)).filter((p): p is Participant => !!p);
    this.handsBox.replaceChildren();
    if (raised.length === 0) return;
    this.handsBox.append(
      h("h3", {}, msg("hands.title", { count: raised.length })),
      h(
        "ol",
        { class: "people-list hands-list", "aria-label": msg("hands.list") },
        ...raised.map((p) =>
          h(
            "li",
            { class: "person", "data-peer-id": p.id },
            h("span", { class: "hand-icon" }, icon("hand")),
            h("span", { class: "person-name" }, h("bdi", {}, p.name), p.self ? " " : null, p.self ? msg("common.youTag") : null),
            m.isHost || p.self
              ? h(
                  "button",
                  {
                    type: "button",
                    class: "small ghost",
                    "aria-label": p.self ? msg("hands.lowerYours") : msg("hands.lowerName", { name: p.name }),
                    onclick: () => (p.self ? m.raiseHand(false) : m.lowerHand(p.id)).catch(failed),
                  },
                  msg("hands.lower"),
                )
              : null,
          ),
        ),
      ),
    );
  }

  private row(p: Participant): HTMLElement {
    const m = this.meeting;
    const li = h(
      "li",
      { class: "person", "data-peer-id": p.id },
      h("span", { class: "person-name" }, h("bdi", {}, p.name), p.self ? " " : null, p.self ? msg("common.youTag") : null),
      p.id === m.host ? h("span", { class: "tag" }, msg("people.host")) : null,
      !p.audio ? h("span", { class: "tag muted" }, msg("people.muted")) : null,
      m.handRaised(p.id) ? h("span", { class: "tag hand" }, msg("tile.handRaised")) : null,
      m.spotlight === p.id ? h("span", { class: "tag spot" }, msg("people.spotlightTag")) : null,
    );
    if (m.isHost) {
      const on = m.spotlight === p.id;
      li.append(
        h(
          "button",
          {
            type: "button",
            class: "small ghost spotlight",
            "aria-pressed": String(on),
            "aria-label": msg(on ? "people.unspotlightName" : "people.spotlightName", { name: p.name }),
            onclick: () => m.spotlightOn(on ? "" : p.id).catch(failed),
          },
          msg(on ? "people.unspotlight" : "people.spotlight"),
        ),
      );
    }
    if (m.isHost && !p.self) {
      li.append(
        h("button", { type: "button", class: "small ghost", "aria-label": msg("people.askMuteName", { name: p.name }), disabled: !p.audio, onclick: () => m.requestMute(p.id).then(() => toast(msg("people.askedMute", { name: isolate(p.name) })), failed) }, msg("people.mute")),
        h("button", { type: "button", class: "small danger", "aria-label": msg("people.removeName", { name: p.name }), onclick: () => m.removeParticipant(p.id).catch(failed) }, msg("people.remove")),
      );
    }
    return li;
  }

  private hostControls(): HTMLElement {
    const m = this.meeting;
    const s = m.settings;
    const pw = h("input", { type: "password", id: "meeting-password", placeholder: msg(s.hasPassword ? "host.passwordSet" : "host.noPassword"), autocomplete: "new-password", "aria-label": msg("prejoin.password") });
    return h(
      "div",
      { class: "host-controls" },
      h("h3", {}, msg("host.title")),
      h(
        "button",
        { type: "button", class: "toggle", "aria-pressed": String(s.locked), "aria-label": msg(s.locked ? "host.unlock" : "host.lock"), onclick: () => m.updateSettings({ locked: !s.locked }).catch(failed) },
        msg(s.locked ? "host.locked" : "host.open"),
      ),
      h(
        "button",
        { type: "button", class: "toggle", "aria-pressed": String(s.waitingRoom), "aria-label": msg(s.waitingRoom ? "host.waitingTurnOff" : "host.waitingTurnOn"), onclick: () => m.updateSettings({ waitingRoom: !s.waitingRoom }).catch(failed) },
        msg(s.waitingRoom ? "host.waitingOn" : "host.waitingOff"),
      ),
      h(
        "form",
        {
          class: "pw-form",
          onsubmit: (e: Event) => {
            e.preventDefault();
            // Read before clearing: the toast comes after the field is empty.
            const password = pw.value;
            m.updateSettings({ password }).then(() => toast(msg(password ? "host.passwordSet" : "host.passwordRemoved")), failed);
            pw.value = "";
          },
        },
        pw,
        h("button", { type: "submit", class: "small" }, msg("host.setPassword")),
        s.hasPassword ? h("button", { type: "button", class: "small ghost", onclick: () => m.updateSettings({ password: "" }).then(() => toast(msg("host.passwordRemoved")), failed) }, msg("host.removePassword")) : null,
      ),
    );
  }
}

/**
 * panelHead is a side panel's title with a close button: on a phone the
 * panel is a full-screen sheet, and this is the way back.
 */
function panelHead(title: Msg, close: () => void): HTMLElement {
  return h(
    "div",
    { class: "panel-head" },
    h("h2", {}, title),
    h("button", { type: "button", class: "panel-close", "aria-label": msg("common.close"), title: msg("common.close"), onclick: close }, icon("close")),
  );
}
