// The meeting screen: stage with tiles, side panels, control bar, status.
import type { Meeting } from "../meeting";
import { downloadBlob, MeetingRecorder } from "../recorder";
import { isolate } from "../text";
import { h, icon, toast, type IconName, type View } from "./dom";
import { ChatPanel, PeoplePanel } from "./panels";
import { TileGrid } from "./tiles";
import { watchViews } from "../views";

interface ControlButton {
  el: HTMLButtonElement;
  set(on: boolean, label: string, iconName: IconName): void;
}

function control(id: string, onClick: () => void): ControlButton {
  const el = h("button", { type: "button", class: "ctl", id, onclick: onClick });
  return {
    el,
    set(on, label, iconName) {
      el.replaceChildren(icon(iconName));
      el.setAttribute("aria-label", label);
      el.title = label;
      el.classList.toggle("on", on);
    },
  };
}

export function meetingView(meeting: Meeting, opts: { speakerId?: string; onEnded: (message: string, reason: string) => void }): View {
  const grid = new TileGrid();
  if (opts.speakerId) grid.setSink(opts.speakerId);
  const disposers: (() => void)[] = [];

  const status = h("span", { class: "conn", id: "connection-status", role: "status" });
  const recBadge = h("span", { class: "rec-badge", id: "recording-indicator", hidden: true }, h("span", { class: "rec-dot" }), "Recording");
  const banner = h("div", { class: "banner", hidden: true, role: "alert" });
  const setConn = (s: string) => {
    status.dataset.state = s;
    status.textContent = s === "connected" ? "Connected" : s === "reconnecting" ? "Reconnecting…" : "Connecting…";
    banner.hidden = s === "connected";
    banner.textContent = s === "connected" ? "" : "Connection to the server lost. Reconnecting… Your call continues.";
  };
  setConn(meeting.connection);

  // Controls.
  const local = meeting.local;
  let recorder: MeetingRecorder | null = null;
  const mic = control("ctl-mic", async () => {
    try {
      await local.setMic(!local.micOn);
    } catch {
      toast("Your microphone could not be started.");
    }
  });
  const cam = control("ctl-cam", async () => {
    try {
      await local.setCamera(!local.camOn);
    } catch {
      toast("Your camera could not be started.");
    }
  });
  const share = control("ctl-share", async () => {
    if (local.sharing) return local.stopShare();
    try {
      await local.startShare();
      toast("You are presenting to everyone");
    } catch (err) {
      if (err instanceof DOMException && err.name === "NotAllowedError") return;
      toast("Screen sharing is not available.");
    }
  });
  const chatBtn = control("ctl-chat", () => togglePanel("chat"));
  const unreadBadge = h("span", { class: "unread", hidden: true });
  const rec = control("ctl-record", async () => {
    if (recorder?.active) {
      const r = recorder;
      recorder = null;
      meeting.setRecording(false);
      const blob = await r.stop();
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
      downloadBlob(blob, `huddle-${meeting.room}-${stamp}.webm`);
      toast("Recording saved to your downloads");
      renderControls();
      return;
    }
    try {
      recorder = new MeetingRecorder({
        sources: () => grid.videos(),
        audioStreams: () => [...meeting.participants.values()].map((p) => p.stream),
      });
      recorder.start();
      meeting.setRecording(true);
      toast("Recording started. Everyone is told.");
    } catch (err) {
      recorder = null;
      toast(err instanceof Error ? err.message : "Recording is not available.");
    }
    renderControls();
  });
  const peopleBtn = control("ctl-people", () => togglePanel("people"));
  const invite = control("ctl-invite", async () => {
    const link = `${location.origin}/${meeting.room}`;
    try {
      await navigator.clipboard.writeText(link);
      toast("Invite link copied");
    } catch {
      toast(`Share this link: ${link}`, 8000);
    }
  });
  invite.set(false, "Copy invite link", "link");
  const leaveBtn = h("button", { type: "button", class: "ctl leave", id: "ctl-leave", "aria-label": "Leave meeting", title: "Leave meeting", onclick: () => void meeting.leave() }, icon("leave"));
  chatBtn.el.append(unreadBadge);

  const chat = new ChatPanel(meeting, (n) => {
    unreadBadge.hidden = n === 0;
    unreadBadge.textContent = String(n);
    renderControls();
  });
  const people = new PeoplePanel(meeting);
  let panel: "chat" | "people" | null = null;
  const togglePanel = (which: "chat" | "people") => {
    panel = panel === which ? null : which;
    chat.show(panel === "chat");
    people.show(panel === "people");
    stage.classList.toggle("with-panel", panel !== null);
    renderControls();
  };

  function renderControls() {
    mic.set(!local.micOn, local.micOn ? "Turn off microphone" : "Turn on microphone", local.micOn ? "mic" : "micOff");
    cam.set(!local.camOn, local.camOn ? "Turn off camera" : "Turn on camera", local.camOn ? "cam" : "camOff");
    share.set(local.sharing, local.sharing ? "Stop presenting" : "Share screen", "screen");
    const n = chat.unread.count;
    chatBtn.set(panel === "chat", panel === "chat" ? "Close chat" : n > 0 ? `Open chat (${n} unread)` : "Open chat", "chat");
    chatBtn.el.append(unreadBadge);
    rec.set(!!recorder?.active, recorder?.active ? "Stop recording" : "Start recording", "record");
    peopleBtn.set(panel === "people", panel === "people" ? "Hide participants" : `Show participants (${meeting.participants.size})`, "people");
    share.el.hidden = !navigator.mediaDevices?.getDisplayMedia;
    const anyone = [...meeting.participants.values()].some((p) => p.recording) || !!recorder?.active;
    recBadge.hidden = !anyone;
  }

  // Meeting events.
  for (const p of meeting.participants.values()) grid.add(p);
  disposers.push(
    watchViews(grid.el, (views) => meeting.setViews(views)),
    meeting.on("participant-added", (p) => {
      grid.add(p);
      people.render();
      renderControls();
    }),
    meeting.on("participant-removed", (p) => {
      grid.remove(p);
      people.render();
      renderControls();
    }),
    meeting.on("participant-updated", (p) => {
      const before = recBadge.hidden;
      grid.update(p);
      people.render();
      renderControls();
      if (before && !recBadge.hidden && !p.self && p.recording) toast(`${isolate(p.name)} started recording`);
    }),
    meeting.on("chat", (m) => chat.add(m)),
    meeting.on("notice", (text) => toast(text)),
    meeting.on("connection", (s) => setConn(s)),
    meeting.on("host", () => people.render()),
    meeting.on("settings", () => people.render()),
    meeting.on("waiting-list", (w) => people.setWaiting(w)),
    meeting.on("waiting", (w) => {
      waitingOverlay.hidden = !w;
    }),
    meeting.on("ended", ({ message, reason }) => opts.onEnded(message, reason)),
    local.onChange(renderControls),
  );

  const waitingOverlay = h(
    "div",
    { class: "overlay", id: "waiting", hidden: true, role: "dialog", "aria-label": "Waiting to be let in" },
    h("div", { class: "overlay-card" }, h("div", { class: "spinner", "aria-hidden": "true" }), h("h2", {}, "Asking to join…"), h("p", {}, "You'll join the call when the host lets you in."), h("button", { type: "button", class: "ghost", onclick: () => void meeting.leave() }, "Cancel")),
  );

  const stage = h("main", { class: "stage" }, grid.el, chat.el, people.el);
  const el = h(
    "div",
    { class: "meeting", "data-room": meeting.room },
    h("header", { class: "topbar" }, h("span", { class: "room-code" }, meeting.room), recBadge, status),
    banner,
    stage,
    h(
      "footer",
      { class: "controls", role: "toolbar", "aria-label": "Meeting controls" },
      h("div", { class: "controls-left" }, h("span", { class: "clock" })),
      h("div", { class: "controls-center" }, mic.el, cam.el, share.el, rec.el, leaveBtn),
      h("div", { class: "controls-right" }, chatBtn.el, peopleBtn.el, invite.el),
    ),
    waitingOverlay,
  );
  waitingOverlay.hidden = !meeting.waiting;
  const clock = el.querySelector<HTMLElement>(".clock")!;
  const tick = () => (clock.textContent = `${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} | ${meeting.room}`);
  tick();
  const clockTimer = setInterval(tick, 10_000);
  renderControls();

  return {
    el,
    dispose() {
      clearInterval(clockTimer);
      if (recorder?.active) void recorder.stop();
      disposers.forEach((d) => d());
      grid.dispose();
    },
  };
}
