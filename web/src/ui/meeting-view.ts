// The meeting screen: stage with tiles, side panels, control bar, status.
import type { Meeting } from "../meeting";
import { downloadBlob, MeetingRecorder } from "../recorder";
import { isolate } from "../text";
import { reactions, describeError, SignalingError } from "../signaling";
import { announce, h, icon, toast, type IconName, type View } from "./dom";
import { ChatPanel, PeoplePanel } from "./panels";
import { watchQuality } from "./quality-view";
import { TileGrid } from "./tiles";
import { watchViews } from "../views";

interface ControlButton {
  el: HTMLButtonElement;
  set(on: boolean, label: string, iconName: IconName): void;
}

const mod = /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl+";

/** control makes a round button; shortcut is in aria-keyshortcuts form ("Control+D"). */
function control(id: string, onClick: () => void, shortcut = ""): ControlButton {
  const el = h("button", { type: "button", class: "ctl", id, onclick: onClick });
  if (shortcut) el.setAttribute("aria-keyshortcuts", `${shortcut} ${shortcut.replace("Control", "Meta")}`);
  const hint = shortcut ? ` (${shortcut.replace("Control+", mod)})` : "";
  return {
    el,
    set(on, label, iconName) {
      el.replaceChildren(icon(iconName));
      el.setAttribute("aria-label", label);
      el.title = label + hint;
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
  const banner = h("div", { class: "banner", id: "connection-banner", hidden: true, role: "alert" });
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
  }, "Control+D");
  const cam = control("ctl-cam", async () => {
    try {
      await local.setCamera(!local.camOn);
    } catch {
      toast("Your camera could not be started.");
    }
  }, "Control+E");
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

  // Raised hand and reactions.
  const failed = (err: unknown) => toast(err instanceof SignalingError ? describeError(err.code, err.message) : "That did not work.");
  const toggleHand = () => meeting.raiseHand(!meeting.handRaised()).catch(failed);
  const hand = control("ctl-hand", () => void toggleHand(), "Control+Alt+H");
  const reactBar = h(
    "div",
    { class: "popover reaction-bar", id: "reaction-bar", role: "toolbar", "aria-label": "Send a reaction", hidden: true },
    ...reactions.map((e) => h("button", { type: "button", class: "emoji", "aria-label": `React ${e}`, onclick: () => void meeting.react(e).catch(failed) }, e)),
  );
  const react = control("ctl-react", () => openPopover(reactBar, react.el));

  // Layout choice.
  const layoutItem = (label: string, pressed: () => boolean, act: () => void) => {
    const b = h("button", { type: "button", class: "menu-item", onclick: () => (act(), renderLayoutMenu()) }, label);
    return { b, sync: () => b.setAttribute("aria-pressed", String(pressed())) };
  };
  const layoutItems = [
    layoutItem("Auto (grid)", () => grid.prefs.mode === "auto", () => grid.setPrefs({ ...grid.prefs, mode: "auto" })),
    layoutItem("Speaker", () => grid.prefs.mode === "speaker", () => grid.setPrefs({ ...grid.prefs, mode: "speaker" })),
    layoutItem("Hide my tile", () => grid.prefs.hideSelf, () => grid.setPrefs({ ...grid.prefs, hideSelf: !grid.prefs.hideSelf })),
  ];
  const renderLayoutMenu = () => layoutItems.forEach((i) => i.sync());
  const layoutMenu = h("div", { class: "popover layout-menu", id: "layout-menu", role: "group", "aria-label": "Layout", hidden: true }, h("h3", {}, "Layout"), ...layoutItems.map((i) => i.b));
  const layoutBtn = control("ctl-layout", () => (renderLayoutMenu(), openPopover(layoutMenu, layoutBtn.el)));
  layoutBtn.set(false, "Change layout", "layout");
  let openPop: { el: HTMLElement; by: HTMLElement } | null = null;
  const closePopover = (focus = false) => {
    if (!openPop) return;
    openPop.el.hidden = true;
    openPop.by.setAttribute("aria-expanded", "false");
    if (focus) openPop.by.focus();
    openPop = null;
  };
  const openPopover = (el: HTMLElement, by: HTMLElement) => {
    const same = openPop?.el === el;
    closePopover();
    if (same) return;
    el.hidden = false;
    by.setAttribute("aria-expanded", "true");
    openPop = { el, by };
    el.querySelector<HTMLButtonElement>("button")?.focus();
  };
  const onDocClick = (e: MouseEvent) => {
    if (openPop && !openPop.el.contains(e.target as Node) && !openPop.by.contains(e.target as Node)) closePopover();
  };
  document.addEventListener("click", onDocClick);
  disposers.push(() => document.removeEventListener("click", onDocClick));
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
    const up = meeting.handRaised();
    hand.set(up, up ? "Lower hand" : "Raise hand", "hand");
    hand.el.setAttribute("aria-pressed", String(up));
    react.set(false, "Send a reaction", "smile");
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
    meeting.on("hands", ({ hands, id, raised, by }) => {
      grid.setHands(hands.map((x) => x.id));
      people.render();
      renderControls();
      const who = meeting.participants.get(id);
      if (!id || !who) return;
      if (who.self) {
        if (by) toast("The host lowered your hand");
        else announce(raised ? "You raised your hand" : "You lowered your hand");
      } else if (raised) toast(`${isolate(who.name)} raised a hand`);
      else announce(by === meeting.selfId ? `You lowered ${who.name}'s hand` : `${who.name} lowered their hand`);
    }),
    meeting.on("reaction", ({ id, emoji }) => {
      grid.showReaction(id, emoji);
      const who = meeting.participants.get(id);
      if (who && !who.self) announce(`${who.name} reacted ${emoji}`);
    }),
    watchQuality(
      meeting,
      (p, q) => grid.setQuality(p, q),
      (q) => {
        netBanner.hidden = !q;
        netBanner.textContent = q ? `Your network is unstable. ${q.text}. Others may not see or hear you well.` : "";
      },
    ),
    local.onChange(renderControls),
  );

  const waitingOverlay = h(
    "div",
    { class: "overlay", id: "waiting", hidden: true, role: "dialog", "aria-label": "Waiting to be let in" },
    h("div", { class: "overlay-card" }, h("div", { class: "spinner", "aria-hidden": "true" }), h("h2", {}, "Asking to join…"), h("p", {}, "You'll join the call when the host lets you in."), h("button", { type: "button", class: "ghost", onclick: () => void meeting.leave() }, "Cancel")),
  );

  const netBanner = h("div", { class: "banner net-banner", id: "network-banner", hidden: true, role: "status" });
  grid.setHands(meeting.hands.map((x) => x.id));
  grid.onLayout = (l) => {
    const p = [...meeting.participants.values()].find((x) => x.id === l.stage);
    if (l.why === "pinned" && p) announce(`${p.self ? "You are" : `${p.name} is`} pinned`);
    else if (l.why === "presenting" && p) announce(p.self ? "You are presenting" : `${p.name} is presenting`);
  };

  // Keyboard: the shortcuts people know from Meet.
  const onKey = (e: KeyboardEvent) => {
    if (!(e.ctrlKey || e.metaKey) || e.shiftKey) return;
    if (e.code === "KeyD" && !e.altKey) {
      e.preventDefault();
      void local.setMic(!local.micOn).then(() => announce(local.micOn ? "Microphone on" : "Microphone off"), () => toast("Your microphone could not be started."));
    } else if (e.code === "KeyE" && !e.altKey) {
      e.preventDefault();
      void local.setCamera(!local.camOn).then(() => announce(local.camOn ? "Camera on" : "Camera off"), () => toast("Your camera could not be started."));
    } else if (e.code === "KeyH" && e.altKey) {
      e.preventDefault();
      void toggleHand();
    }
  };
  const onEscape = (e: KeyboardEvent) => {
    if (e.key === "Escape" && openPop) closePopover(true);
  };
  document.addEventListener("keydown", onKey);
  document.addEventListener("keydown", onEscape);
  disposers.push(() => document.removeEventListener("keydown", onKey), () => document.removeEventListener("keydown", onEscape));

  const stage = h("main", { class: "stage" }, grid.el, chat.el, people.el);
  const el = h(
    "div",
    { class: "meeting", "data-room": meeting.room },
    h("header", { class: "topbar" }, h("span", { class: "room-code" }, meeting.room), recBadge, status),
    banner,
    netBanner,
    stage,
    h(
      "footer",
      { class: "controls", role: "toolbar", "aria-label": "Meeting controls" },
      h("div", { class: "controls-left" }, h("span", { class: "clock" })),
      h("div", { class: "controls-center" }, mic.el, cam.el, hand.el, h("div", { class: "pop-anchor" }, react.el, reactBar), share.el, rec.el, leaveBtn),
      h("div", { class: "controls-right" }, chatBtn.el, peopleBtn.el, h("div", { class: "pop-anchor" }, layoutBtn.el, layoutMenu), invite.el),
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
