// The meeting screen: stage with tiles, side panels, control bar, status.
import { loadAudioProcessing, type AudioProcessing } from "../media";
import { onStreamStatus } from "../stream";
import type { Meeting } from "../meeting";
import { downloadBlob, MeetingRecorder } from "../recorder";
import { isolate } from "../text";
import { reactions, describeError, SignalingError } from "../signaling";
import { currentLanguage, msg, onLanguageChange, t, type Msg } from "../i18n";
import { announce, clockTime, h, icon, setAttr, setText, toast, whenIdle, type IconName, type View } from "./dom";
import { languagePicker } from "./language";
import { ChatPanel, PeoplePanel } from "./panels";
import { RecordingsPanel } from "./recordings-panel";
import { watchQuality } from "./quality-view";
import { TileGrid } from "./tiles";
import { Pip } from "./pip";
import { watchViews } from "../views";
import { screenSuffix } from "../sfu";

interface ControlButton {
  el: HTMLButtonElement;
  set(on: boolean, label: Msg, iconName: IconName): void;
}

const mod = /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl+";

/** control makes a round button; shortcut is in aria-keyshortcuts form ("Control+D"). */
function control(id: string, onClick: () => void, shortcut = ""): ControlButton {
  const el = h("button", { type: "button", class: "ctl", id, onclick: onClick });
  if (shortcut) el.setAttribute("aria-keyshortcuts", `${shortcut} ${shortcut.replace("Control", "Meta")}`);
  const keys = shortcut.replace("Control+", mod);
  return {
    el,
    set(on, label, iconName) {
      el.replaceChildren(icon(iconName));
      setAttr(el, "aria-label", label);
      setAttr(el, "title", shortcut ? msg("control.withShortcut", { label, keys }) : label);
      el.classList.toggle("on", on);
    },
  };
}

export function meetingView(meeting: Meeting, opts: { speakerId?: string; onEnded: (message: Msg, reason: string) => void }): View {
  const grid = new TileGrid();
  if (opts.speakerId) grid.setSink(opts.speakerId);
  const disposers: (() => void)[] = [];

  const status = h("span", { class: "conn", id: "connection-status", role: "status" });
  const recBadge = h("span", { class: "rec-badge", id: "recording-indicator", hidden: true }, h("span", { class: "rec-dot" }), msg("meeting.recording"));
  const liveBadge = h("span", { class: "rec-badge live-badge", id: "live-indicator", hidden: true }, h("span", { class: "rec-dot" }), msg("stream.badge"));
  const banner = h("div", { class: "banner", id: "connection-banner", hidden: true, role: "alert" });
  const setConn = (s: string) => {
    status.dataset.state = s;
    setText(status, msg(s === "connected" ? "conn.connected" : s === "reconnecting" ? "conn.reconnecting" : "conn.connecting"));
    banner.hidden = s === "connected";
    setText(banner, s === "connected" ? "" : msg("conn.lost"));
  };
  setConn(meeting.connection);

  // Controls.
  const local = meeting.local;
  let recorder: MeetingRecorder | null = null;
  // Every switch says what it did in the live region, whether by button
  // or by shortcut.
  const toggleMic = () =>
    local.setMic(!local.micOn).then(
      () => announce(msg(local.micOn ? "media.micIsOn" : "media.micIsOff")),
      () => toast(msg("media.micFailed")),
    );
  const toggleCam = () =>
    local.setCamera(!local.camOn).then(
      () => announce(msg(local.camOn ? "media.camIsOn" : "media.camIsOff")),
      () => toast(msg("media.camFailed")),
    );
  const mic = control("ctl-mic", () => void toggleMic(), "Control+D");
  const cam = control("ctl-cam", () => void toggleCam(), "Control+E");
  const share = control("ctl-share", async () => {
    if (local.sharing) return local.stopShare();
    try {
      await local.startShare();
      toast(msg("share.started"));
    } catch (err) {
      if (err instanceof DOMException && err.name === "NotAllowedError") return;
      toast(msg("share.unavailable"));
    }
  });
  const chatBtn = control("ctl-chat", () => togglePanel("chat"));
  const unreadBadge = h("span", { class: "unread", hidden: true });
  // Server recording (the host's, when the server records): the server
  // tells everyone when it starts and stops, and the indicator follows.
  let recPending = false;
  const serverRecord = async () => {
    if (recPending) return;
    recPending = true;
    rec.el.disabled = true;
    try {
      if (meeting.serverRecordingActive) await meeting.stopServerRecording();
      else await meeting.startServerRecording();
    } catch (err) {
      failed(err);
    } finally {
      recPending = false;
      rec.el.disabled = false;
    }
  };
  const rec = control("ctl-record", async () => {
    if (meeting.serverRecording) return serverRecord();
    if (recorder?.active) {
      const r = recorder;
      recorder = null;
      meeting.setRecording(false);
      const blob = await r.stop();
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
      downloadBlob(blob, `huddle-${meeting.room}-${stamp}.webm`);
      toast(msg("rec.saved"));
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
      toast(msg("rec.started"));
    } catch (err) {
      recorder = null;
      toast(err instanceof Error ? err.message : msg("rec.unavailable"));
    }
    renderControls();
  });
  const peopleBtn = control("ctl-people", () => togglePanel("people"));
  const recordingsBtn = control("ctl-recordings", () => togglePanel("recordings"));
  const invite = control("ctl-invite", async () => {
    const link = `${location.origin}/${meeting.room}`;
    try {
      await navigator.clipboard.writeText(link);
      toast(msg("invite.copied"));
    } catch {
      toast(msg("invite.share", { link }), 8000);
    }
  });
  invite.set(false, msg("invite.copy"), "link");

  // Raised hand and reactions.
  const failed = (err: unknown) => toast(err instanceof SignalingError ? describeError(err.code, err.message) : msg("common.failed"));
  const toggleHand = () => meeting.raiseHand(!meeting.handRaised()).catch(failed);
  const hand = control("ctl-hand", () => void toggleHand(), "Control+Alt+H");
  const reactBar = h(
    "div",
    { class: "popover reaction-bar", id: "reaction-bar", role: "toolbar", "aria-label": msg("reactions.send"), hidden: true },
    ...reactions.map((e) => h("button", { type: "button", class: "emoji", "aria-label": msg("reactions.react", { emoji: e }), onclick: () => void meeting.react(e).catch(failed) }, e)),
  );
  const react = control("ctl-react", () => openPopover(reactBar, react.el));

  // Layout choice.
  const layoutItem = (label: Msg, pressed: () => boolean, act: () => void) => {
    const b = h("button", { type: "button", class: "menu-item", onclick: () => (act(), renderLayoutMenu()) }, label);
    return { b, sync: () => b.setAttribute("aria-pressed", String(pressed())) };
  };
  const layoutItems = [
    layoutItem(msg("layout.auto"), () => grid.prefs.mode === "auto", () => grid.setPrefs({ ...grid.prefs, mode: "auto" })),
    layoutItem(msg("layout.speaker"), () => grid.prefs.mode === "speaker", () => grid.setPrefs({ ...grid.prefs, mode: "speaker" })),
    layoutItem(msg("layout.hideSelf"), () => grid.prefs.hideSelf, () => grid.setPrefs({ ...grid.prefs, hideSelf: !grid.prefs.hideSelf })),
  ];
  // Voice processing, switched without rejoining (LocalMedia.setAudioProcessing).
  const audioItem = (label: Msg, key: keyof AudioProcessing) =>
    layoutItem(label, () => loadAudioProcessing()[key], () => {
      const p = loadAudioProcessing();
      const next = { ...p, [key]: !p[key] };
      void local.setAudioProcessing(next).then(
        () => (renderLayoutMenu(), announce(msg(next[key] ? "audio.on" : "audio.off", { what: label }))),
        () => toast(msg("media.micFailed")),
      );
    });
  const audioItems = [audioItem(msg("audio.noise"), "noiseSuppression"), audioItem(msg("audio.echo"), "echoCancellation")];
  const renderLayoutMenu = () => [...layoutItems, ...audioItems].forEach((i) => i.sync());
  // The speaker in a small window on top of other tabs (pip.ts).
  const pip = new Pip({ focus: () => grid.focus(), videoOf: (p) => grid.videoOf(p), micOn: () => local.micOn, toggleMic: () => void toggleMic() });
  disposers.push(() => pip.dispose());
  const pipItem = h("button", { type: "button", class: "menu-item", id: "pip-open", hidden: !Pip.supported(), onclick: () => (closePopover(), void pip.open().catch(() => toast(msg("pip.failed")))) }, msg("pip.open"));
  // The layout menu is also where the language is changed during a call.
  const layoutMenu = h(
    "div",
    { class: "popover layout-menu", id: "layout-menu", role: "group", "aria-label": msg("layout.title"), hidden: true },
    h("h3", {}, msg("layout.title")),
    ...layoutItems.map((i) => i.b),
    pipItem,
    h("h3", {}, msg("audio.title")),
    ...audioItems.map((i) => i.b),
    h("h3", {}, msg("lang.label")),
    languagePicker("lang-meeting", "in-menu"),
  );
  const layoutBtn = control("ctl-layout", () => (renderLayoutMenu(), openPopover(layoutMenu, layoutBtn.el)));
  layoutBtn.set(false, msg("layout.change"), "layout");
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
  const leaveBtn = h("button", { type: "button", class: "ctl leave", id: "ctl-leave", "aria-label": msg("meeting.leave"), title: msg("meeting.leave"), onclick: () => void meeting.leave() }, icon("leave"));
  chatBtn.el.append(unreadBadge);

  const chat = new ChatPanel(meeting, (n) => {
    unreadBadge.hidden = n === 0;
    unreadBadge.textContent = String(n);
    renderControls();
  });
  const people = new PeoplePanel(meeting);
  const recordings = new RecordingsPanel(meeting);
  let panel: "chat" | "people" | "recordings" | null = null;
  chat.onClose = () => (togglePanel("chat"), chatBtn.el.focus());
  people.onClose = () => (togglePanel("people"), peopleBtn.el.focus());
  const togglePanel = (which: "chat" | "people" | "recordings") => {
    panel = panel === which ? null : which;
    chat.show(panel === "chat");
    people.show(panel === "people");
    if (recordings.open !== (panel === "recordings")) recordings.show(panel === "recordings");
    stage.classList.toggle("with-panel", panel !== null);
    renderControls();
  };

  function renderControls() {
    mic.set(!local.micOn, msg(local.micOn ? "media.micTurnOff" : "media.micTurnOn"), local.micOn ? "mic" : "micOff");
    cam.set(!local.camOn, msg(local.camOn ? "media.camTurnOff" : "media.camTurnOn"), local.camOn ? "cam" : "camOff");
    share.set(local.sharing, msg(local.sharing ? "share.stop" : "share.start"), "screen");
    const n = chat.unread.count;
    chatBtn.set(panel === "chat", panel === "chat" ? msg("chat.close") : n > 0 ? msg("chat.openUnread", { count: n }) : msg("chat.open"), "chat");
    chatBtn.el.append(unreadBadge);
    // With server recording only the host records (the server refuses
    // anyone else); without it, anyone may record in their browser.
    const serverHost = meeting.mayRecord;
    const recOn = meeting.serverRecording ? meeting.serverRecordingActive : !!recorder?.active;
    rec.set(recOn, msg(recOn ? "rec.stop" : "rec.start"), "record");
    rec.el.hidden = meeting.serverRecording && !serverHost;
    recordingsBtn.set(panel === "recordings", msg(panel === "recordings" ? "rec.hideList" : "rec.showList"), "download");
    recordingsBtn.el.hidden = !serverHost;
    if (!serverHost && panel === "recordings") togglePanel("recordings");
    peopleBtn.set(panel === "people", panel === "people" ? msg("people.hide") : msg("people.show", { count: meeting.participants.size }), "people");
    share.el.hidden = !navigator.mediaDevices?.getDisplayMedia;
    const up = meeting.handRaised();
    hand.set(up, msg(up ? "hand.lower" : "hand.raise"), "hand");
    hand.el.setAttribute("aria-pressed", String(up));
    react.set(false, msg("reactions.send"), "smile");
    const anyone = [...meeting.participants.values()].some((p) => p.recording) || !!recorder?.active || meeting.serverRecordingActive;
    recBadge.hidden = !anyone;
  }

  // Meeting events.
  for (const p of meeting.participants.values()) grid.add(p);
  disposers.push(
    watchViews(grid.el, (views) => meeting.setViews(views)),
    people.stream.watch(),
    onStreamStatus(meeting.sig, (s) => {
      const on = s.state === "live" || s.state === "reconnecting";
      if (on && liveBadge.hidden) toast(msg("stream.nowLive"));
      liveBadge.hidden = !on;
    }),
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
      if (before && !recBadge.hidden && !p.self && p.recording) toast(msg("rec.someone", { name: isolate(p.name) }));
    }),
    meeting.on("chat", (m) => chat.add(m)),
    meeting.on("notice", (text) => toast(text)),
    meeting.on("connection", (s) => setConn(s)),
    meeting.on("host", () => {
      people.render();
      renderControls();
    }),
    meeting.on("server-recording", (e) => {
      renderControls();
      if (e.resync) return;
      if (e.active) {
        if (!e.first) return;
        if (e.by === meeting.selfId) toast(msg("rec.started"));
        else {
          const who = e.by ? meeting.participants.get(e.by) : undefined;
          toast(who ? msg("rec.someone", { name: isolate(who.name) }) : msg("rec.joinedRecorded"), 8000);
        }
        return;
      }
      // Why it stopped matters to the host, who may act (free the disk);
      // everyone else learns that it stopped.
      const why: Record<string, Msg> = {
        "disk-full": msg("rec.stoppedDiskFull"),
        "max-duration": msg("rec.stoppedMaxDuration"),
        "write-error": msg("rec.stoppedError"),
      };
      if (meeting.mayRecord) toast((e.reason && why[e.reason]) || msg("rec.stoppedHost"), e.reason ? 10000 : 6000);
      else toast(msg("rec.stoppedNotice"));
      if (recordings.open) void recordings.load();
    }),
    meeting.on("recording-composed", (e) => {
      toast(e.ok ? msg("rec.composed") : msg("rec.composeFailed", { detail: e.error }), e.ok ? 6000 : 10000);
      if (recordings.open) void recordings.load();
    }),
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
        if (by) toast(msg("hand.loweredByHost"));
        else announce(msg(raised ? "hand.youRaised" : "hand.youLowered"));
      } else if (raised) toast(msg("hand.raised", { name: isolate(who.name) }));
      else announce(msg(by === meeting.selfId ? "hand.youLoweredTheirs" : "hand.theyLowered", { name: who.name }));
    }),
    meeting.on("active-speaker", (id) => grid.setServerSpeaker(id)),
    meeting.on("spotlight", (id) => {
      grid.setSpotlight(id);
      people.render();
    }),
    meeting.on("reaction", ({ id, emoji }) => {
      grid.showReaction(id, emoji);
      const who = meeting.participants.get(id);
      if (who && !who.self) announce(msg("reactions.reacted", { name: who.name, emoji }));
    }),
    watchQuality(
      meeting,
      (p, q) => grid.setQuality(p, q),
      (q) => {
        netBanner.hidden = !q;
        setText(netBanner, q ? msg("net.banner", { detail: q.text }) : "");
      },
    ),
    local.onChange(renderControls),
  );

  const waitingOverlay = h(
    "div",
    { class: "overlay", id: "waiting", hidden: true, role: "dialog", "aria-label": msg("waiting.label") },
    h(
      "div",
      { class: "overlay-card" },
      h("div", { class: "spinner", "aria-hidden": "true" }),
      h("h2", {}, msg("waiting.title")),
      h("p", {}, msg("waiting.text")),
      h("button", { type: "button", class: "ghost", onclick: () => void meeting.leave() }, msg("common.cancel")),
    ),
  );

  const netBanner = h("div", { class: "banner net-banner", id: "network-banner", hidden: true, role: "status" });
  // While we present: a reminder with Stop, and a word against sharing a
  // browser tab showing the meeting (the mirror).
  const mirrorHint = h("span", { class: "mirror-hint", hidden: true }, msg("share.mirrorHint"));
  const presentingBanner = h(
    "div",
    { class: "banner presenting-banner", id: "presenting-banner", hidden: true, role: "status" },
    h("strong", {}, msg("layout.youPresenting")),
    mirrorHint,
    h("button", { type: "button", class: "small danger", onclick: () => local.stopShare() }, msg("share.stopSharing")),
  );
  const renderPresenting = () => {
    presentingBanner.hidden = !local.sharing;
    mirrorHint.hidden = !local.sharing || local.screen?.getSettings().displaySurface !== "browser";
  };
  disposers.push(local.onChange(renderPresenting));
  grid.setHands(meeting.hands.map((x) => x.id));
  grid.setSpotlight(meeting.spotlight);
  grid.onLayout = (l) => {
    // A screen's tile is its presenter's id and the screen suffix.
    const id = l.stage.endsWith(screenSuffix) ? l.stage.slice(0, -screenSuffix.length) : l.stage;
    const p = [...meeting.participants.values()].find((x) => x.id === id);
    if (l.why === "pinned" && p) announce(p.self ? msg("layout.youPinned") : msg("layout.pinned", { name: p.name }));
    else if (l.why === "spotlight" && p) announce(p.self ? msg("layout.youSpotlight") : msg("layout.spotlight", { name: p.name }));
    else if (l.why === "presenting" && p) announce(p.self ? msg("layout.youPresenting") : msg("layout.presenting", { name: p.name }));
  };

  // Keyboard: the shortcuts people know from Meet, ? for their list, and
  // Space held down to talk while muted.
  const shortcuts = shortcutDialog();
  const typing = (t: EventTarget | null) => t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  let pushToTalk = false;
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "?" && !e.ctrlKey && !e.metaKey && !e.altKey && !typing(e.target)) {
      e.preventDefault();
      shortcuts.open();
      return;
    }
    if (e.code === "Space" && !e.repeat && !e.ctrlKey && !e.metaKey && !local.micOn && local.mic && !typing(e.target) && !(e.target instanceof HTMLButtonElement)) {
      e.preventDefault();
      pushToTalk = true;
      void local.setMic(true).then(() => announce(msg("keys.talking")));
      return;
    }
    if (!(e.ctrlKey || e.metaKey) || e.shiftKey) return;
    if (e.code === "KeyD" && !e.altKey) {
      e.preventDefault();
      void toggleMic();
    } else if (e.code === "KeyE" && !e.altKey) {
      e.preventDefault();
      void toggleCam();
    } else if (e.code === "KeyH" && e.altKey) {
      e.preventDefault();
      void toggleHand();
    } else if (e.code === "KeyC" && e.altKey) {
      e.preventDefault();
      togglePanel("chat");
      if (panel === "chat") document.getElementById("chat-input")?.focus();
    }
  };
  const onKeyUp = (e: KeyboardEvent) => {
    if (e.code !== "Space" || !pushToTalk) return;
    pushToTalk = false;
    void local.setMic(false).then(() => announce(msg("media.micIsOff")));
  };
  document.addEventListener("keyup", onKeyUp);
  disposers.push(() => document.removeEventListener("keyup", onKeyUp), () => shortcuts.el.remove());
  const onEscape = (e: KeyboardEvent) => {
    if (e.key === "Escape" && openPop) closePopover(true);
    else if (e.key === "Escape" && panel === "chat") chat.onClose();
    else if (e.key === "Escape" && panel === "people") people.onClose();
    else if (e.key === "Escape" && panel) togglePanel(panel);
  };
  document.addEventListener("keydown", onKey);
  document.addEventListener("keydown", onEscape);
  disposers.push(() => document.removeEventListener("keydown", onKey), () => document.removeEventListener("keydown", onEscape));

  const stage = h("main", { class: "stage" }, grid.el, chat.el, people.el, recordings.el);
  const el = h(
    "div",
    { class: "meeting", "data-room": meeting.room },
    h("header", { class: "topbar" }, h("span", { class: "room-code" }, meeting.room), recBadge, liveBadge, status),
    banner,
    netBanner,
    presentingBanner,
    stage,
    h(
      "footer",
      { class: "controls", role: "toolbar", "aria-label": msg("meeting.controls") },
      h("div", { class: "controls-left" }, h("span", { class: "clock" })),
      h("div", { class: "controls-center" }, mic.el, cam.el, hand.el, h("div", { class: "pop-anchor" }, react.el, reactBar), share.el, rec.el, leaveBtn),
      h("div", { class: "controls-right" }, chatBtn.el, peopleBtn.el, recordingsBtn.el, h("div", { class: "pop-anchor" }, layoutBtn.el, layoutMenu), invite.el),
    ),
    waitingOverlay,
    shortcuts.el,
  );
  waitingOverlay.hidden = !meeting.waiting;
  disposers.push(autoHideControls(el, () => panel !== null || openPop !== null));
  const clock = el.querySelector<HTMLElement>(".clock")!;
  const tick = () => (clock.textContent = `${clockTime(currentLanguage())} | ${meeting.room}`);
  // The time is filled in once the page is idle (the pre-join page has
  // loaded the locale's date data by then, see clockTime).
  clock.textContent = meeting.room;
  const firstTick = whenIdle(tick);
  const clockTimer = setInterval(tick, 10_000);
  disposers.push(onLanguageChange(tick), firstTick);
  renderControls();

  return {
    el,
    dispose() {
      clearInterval(clockTimer);
      if (recorder?.active) void recorder.stop();
      recordings.dispose();
      disposers.forEach((d) => d());
      grid.dispose();
    },
  };
}

/** How long the controls stay after the last touch on a touch screen. */
const controlsIdleMs = 4000;

/**
 * autoHideControls hides the control bar of a touch screen after a few
 * seconds without a touch, as phone video apps do, so the picture has the
 * screen; any touch brings it back. Never while a panel or menu is open or
 * the focus is in the bar (keyboard and screen reader users). It returns
 * the stop function.
 */
function autoHideControls(root: HTMLElement, busy: () => boolean): () => void {
  if (!globalThis.matchMedia?.("(hover: none) and (pointer: coarse)").matches) return () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hide = () => {
    const focus = document.activeElement;
    if (busy() || (root.querySelector(".controls")?.contains(focus) && focus?.matches(":focus-visible"))) return arm();
    root.classList.add("controls-hidden");
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(hide, controlsIdleMs);
  };
  const wake = () => {
    root.classList.remove("controls-hidden");
    arm();
  };
  root.addEventListener("pointerdown", wake, { capture: true });
  root.addEventListener("focusin", wake);
  arm();
  return () => {
    clearTimeout(timer);
    root.removeEventListener("pointerdown", wake, { capture: true });
    root.removeEventListener("focusin", wake);
  };
}

/**
 * shortcutDialog is the list of keyboard shortcuts that ? opens: a modal
 * dialog that keeps the focus inside until Escape or Close, then gives it
 * back where it was.
 */
function shortcutDialog(): { el: HTMLElement; open: () => void } {
  const mod = /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl";
  const rows: [string, Msg][] = [
    [`${mod}+D`, msg("media.micTurnOff")],
    [`${mod}+E`, msg("media.camTurnOff")],
    [`${mod}+Alt+H`, msg("hand.raise")],
    [`${mod}+Alt+C`, msg("chat.open")],
    [t("keys.space"), msg("keys.spaceHelp")],
    ["?", msg("keys.title")],
    [t("keys.esc"), msg("common.close")],
  ];
  let back: HTMLElement | null = null;
  const close = () => {
    el.hidden = true;
    back?.focus();
  };
  const closeBtn = h("button", { type: "button", class: "ghost", onclick: close }, msg("common.close"));
  const card = h(
    "div",
    { class: "overlay-card keys-card" },
    h("h2", { id: "keys-title" }, msg("keys.title")),
    h("dl", { class: "keys" }, ...rows.flatMap(([k, what]) => [h("dt", {}, h("kbd", {}, k)), h("dd", {}, what)])),
    closeBtn,
  );
  const el = h("div", { class: "overlay", id: "shortcuts", role: "dialog", "aria-modal": "true", "aria-labelledby": "keys-title", hidden: true }, card);
  el.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      close();
    } else if (e.key === "Tab") {
      // One button inside: the focus stays on it.
      e.preventDefault();
      closeBtn.focus();
    }
  });
  return {
    el,
    open: () => {
      back = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      el.hidden = false;
      closeBtn.focus();
    },
  };
}
