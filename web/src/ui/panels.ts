// Side panels: chat, and the participant list with host controls.
import { renderChatMessage, UnreadCounter, type ChatMessage } from "../chat";
import type { Meeting, Participant } from "../meeting";
import { describeError, SignalingError } from "../signaling";
import { isolate } from "../text";
import { h, icon, toast } from "./dom";

function failed(err: unknown): void {
  toast(err instanceof SignalingError ? describeError(err.code, err.message) : "That did not work.");
}

export class ChatPanel {
  readonly el: HTMLElement;
  readonly unread: UnreadCounter;
  private list = h("ol", { class: "chat-list", "aria-label": "Messages" });
  private input = h("input", { id: "chat-input", type: "text", placeholder: "Send a message", autocomplete: "off", "aria-label": "Message" });
  open = false;

  constructor(
    private readonly meeting: Meeting,
    onUnread: (n: number) => void,
  ) {
    this.unread = new UnreadCounter(onUnread);
    const sendBtn = h("button", { type: "submit", class: "icon-button", "aria-label": "Send message" }, "Send");
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
      this.input,
      sendBtn,
    );
    this.el = h(
      "section",
      { class: "panel chat-panel", id: "chat-panel", "aria-label": "Chat", hidden: true },
      h("h2", {}, "In-call messages"),
      h("p", { class: "panel-note" }, "Messages are seen by everyone in the call and by people who join later."),
      this.list,
      form,
    );
    for (const m of meeting.chat) this.add(m, true);
  }

  add(m: ChatMessage, history = false): void {
    this.list.append(renderChatMessage(document, m, this.meeting.selfId));
    this.list.scrollTop = this.list.scrollHeight;
    if (!history) this.unread.received(m.from === this.meeting.selfId, this.open);
  }

  show(open: boolean): void {
    this.open = open;
    this.el.hidden = !open;
    if (open) {
      this.unread.read();
      this.input.focus();
    }
  }
}

export class PeoplePanel {
  readonly el: HTMLElement;
  private list = h("ul", { class: "people-list", "aria-label": "Participants" });
  private hostBox = h("div", { class: "host-box" });
  private waitingBox = h("div", { class: "waiting-box" });
  private handsBox = h("div", { class: "hands-box", id: "raised-hands" });
  private waiting: { id: string; name: string }[] = [];
  open = false;

  constructor(private readonly meeting: Meeting) {
    this.el = h(
      "section",
      { class: "panel people-panel", id: "people-panel", "aria-label": "Participants", hidden: true },
      h("h2", {}, "People"),
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
    for (const x of w) if (!before.has(x.id)) toast(`${isolate(x.name)} is asking to join`);
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
        h("h3", {}, "Waiting to join"),
        h(
          "ul",
          { class: "people-list" },
          ...this.waiting.map((w) =>
            h(
              "li",
              { class: "person" },
              h("bdi", { class: "person-name" }, w.name),
              h("button", { type: "button", class: "small", "aria-label": `Admit ${w.name}`, onclick: () => m.admit(w.id).catch(failed) }, "Admit"),
              h("button", { type: "button", class: "small ghost", "aria-label": `Deny ${w.name}`, onclick: () => m.deny(w.id).catch(failed) }, "Deny"),
            ),
          ),
        ),
      );
    }
    this.renderHands();
    this.hostBox.replaceChildren();
    if (m.isHost) this.hostBox.append(this.hostControls());
  }

  /** renderHands lists the raised hands in the order they went up. */
  private renderHands(): void {
    const m = this.meeting;
    const raised = m.hands.map((x) => m.participants.get(x.id)).filter((p): p is Participant => !!p);
    this.handsBox.replaceChildren();
    if (raised.length === 0) return;
    this.handsBox.append(
      h("h3", {}, `Raised hands (${raised.length})`),
      h(
        "ol",
        { class: "people-list hands-list", "aria-label": "Raised hands, first raised first" },
        ...raised.map((p) =>
          h(
            "li",
            { class: "person", "data-peer-id": p.id },
            h("span", { class: "hand-icon" }, icon("hand")),
            h("span", { class: "person-name" }, h("bdi", {}, p.name), p.self ? " (You)" : null),
            m.isHost || p.self
              ? h("button", { type: "button", class: "small ghost", "aria-label": p.self ? "Lower your hand" : `Lower ${p.name}'s hand`, onclick: () => (p.self ? m.raiseHand(false) : m.lowerHand(p.id)).catch(failed) }, "Lower")
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
      h("span", { class: "person-name" }, h("bdi", {}, p.name), p.self ? " (You)" : null),
      p.id === m.host ? h("span", { class: "tag" }, "Host") : null,
      !p.audio ? h("span", { class: "tag muted" }, "Muted") : null,
      m.handRaised(p.id) ? h("span", { class: "tag hand" }, "Hand raised") : null,
    );
    if (m.isHost && !p.self) {
      li.append(
        h("button", { type: "button", class: "small ghost", "aria-label": `Ask ${p.name} to mute`, disabled: !p.audio, onclick: () => m.requestMute(p.id).then(() => toast(`Asked ${isolate(p.name)} to mute`), failed) }, "Mute"),
        h("button", { type: "button", class: "small danger", "aria-label": `Remove ${p.name} from the meeting`, onclick: () => m.removeParticipant(p.id).catch(failed) }, "Remove"),
      );
    }
    return li;
  }

  private hostControls(): HTMLElement {
    const m = this.meeting;
    const s = m.settings;
    const pw = h("input", { type: "password", id: "meeting-password", placeholder: s.hasPassword ? "Password set" : "No password", autocomplete: "new-password", "aria-label": "Meeting password" });
    return h(
      "div",
      { class: "host-controls" },
      h("h3", {}, "Host controls"),
      h(
        "button",
        { type: "button", class: "toggle", "aria-pressed": String(s.locked), "aria-label": s.locked ? "Unlock meeting" : "Lock meeting", onclick: () => m.updateSettings({ locked: !s.locked }).catch(failed) },
        s.locked ? "Meeting locked" : "Meeting open",
      ),
      h(
        "button",
        { type: "button", class: "toggle", "aria-pressed": String(s.waitingRoom), "aria-label": s.waitingRoom ? "Turn off waiting room" : "Turn on waiting room", onclick: () => m.updateSettings({ waitingRoom: !s.waitingRoom }).catch(failed) },
        s.waitingRoom ? "Waiting room on" : "Waiting room off",
      ),
      h(
        "form",
        {
          class: "pw-form",
          onsubmit: (e: Event) => {
            e.preventDefault();
            m.updateSettings({ password: pw.value }).then(() => toast(pw.value ? "Password set" : "Password removed"), failed);
            pw.value = "";
          },
        },
        pw,
        h("button", { type: "submit", class: "small" }, "Set password"),
        s.hasPassword ? h("button", { type: "button", class: "small ghost", onclick: () => m.updateSettings({ password: "" }).then(() => toast("Password removed"), failed) }, "Remove password") : null,
      ),
    );
  }
}
