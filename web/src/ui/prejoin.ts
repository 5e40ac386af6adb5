// The pre-join page: preview, level meter, device choice, name, Join.
import { canChooseSpeaker, getLocalMedia, LevelMeter, listDevices, stopStream } from "../media";
import { currentLanguage, msg, type Key, type Msg } from "../i18n";
import { clockTime, h, icon, setAttr, setText, whenIdle, type View } from "./dom";
import { languagePicker } from "./language";

const nameKey = "huddle.name";

export interface JoinChoice {
  stream: MediaStream;
  micOn: boolean;
  camOn: boolean;
  audioDeviceId?: string;
  videoDeviceId?: string;
  speakerId?: string;
  name: string;
  password: string;
}

export interface PrejoinHandle extends View {
  /** fail shows why joining did not work and lets the person try again. */
  fail(message: Msg, needPassword?: boolean): void;
}

export function rememberedName(): string {
  try {
    return localStorage.getItem(nameKey) ?? "";
  } catch {
    return "";
  }
}

function rememberName(name: string): void {
  try {
    localStorage.setItem(nameKey, name);
  } catch {
    // Private mode: nothing to remember with.
  }
}

/** How an embedding page (embed.ts) sets the screen up. */
export interface PrejoinOptions {
  /** The name field's value instead of the remembered one. */
  name?: string;
  /** Join as soon as camera and microphone have answered, without a click. */
  autoJoin?: boolean;
}

export function prejoinView(code: string, onJoin: (c: JoinChoice) => void, message: Msg | null = null, opts: PrejoinOptions = {}): PrejoinHandle {
  let stream = new MediaStream();
  let micOn = true;
  let camOn = true;
  let meter: LevelMeter | null = null;
  let disposed = false;
  let handedOver = false;

  const video = h("video", { class: "preview-video mirrored", autoplay: true, playsinline: true, muted: true });
  video.muted = true;
  const offNote = h("div", { class: "preview-off" });
  const meterFill = h("div", { class: "meter-fill" });
  const meterEl = h("div", { class: "meter", role: "meter", "aria-label": msg("prejoin.micLevel"), "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0 }, meterFill);
  const micBtn = h("button", { class: "round", type: "button", id: "prejoin-mic" });
  const camBtn = h("button", { class: "round", type: "button", id: "prejoin-cam" });
  const camSel = h("select", { id: "camera-select", "aria-label": msg("devices.camera") });
  const micSel = h("select", { id: "mic-select", "aria-label": msg("devices.microphone") });
  const spkSel = h("select", { id: "speaker-select", "aria-label": msg("devices.speaker") });
  const problems = h("div", { class: "problems", role: "status", "aria-live": "polite" });
  const errorEl = h("p", { class: "form-error", role: "alert" }, message);
  const nameInput = h("input", { id: "name", type: "text", maxlength: 64, autocomplete: "name", placeholder: msg("prejoin.name"), required: true });
  nameInput.value = opts.name || rememberedName();
  const pwInput = h("input", { id: "password", type: "password", autocomplete: "off", placeholder: msg("prejoin.password") });
  const pwRow = h("label", { class: "field", hidden: true }, h("span", {}, msg("prejoin.password")), pwInput);
  const joinBtn = h("button", { type: "submit", class: "primary big", id: "join", "aria-label": msg("prejoin.joinNow") }, msg("prejoin.joinNow"));

  const render = () => {
    const hasMic = stream.getAudioTracks().length > 0;
    const hasCam = stream.getVideoTracks().some((t) => t.readyState === "live");
    micBtn.replaceChildren(icon(micOn && hasMic ? "mic" : "micOff"));
    setAttr(micBtn, "aria-label", msg(micOn ? "media.micTurnOff" : "media.micTurnOn"));
    micBtn.classList.toggle("off", !micOn || !hasMic);
    camBtn.replaceChildren(icon(camOn && hasCam ? "cam" : "camOff"));
    setAttr(camBtn, "aria-label", msg(camOn ? "media.camTurnOff" : "media.camTurnOn"));
    camBtn.classList.toggle("off", !camOn || !hasCam);
    offNote.hidden = camOn && hasCam;
    setText(offNote, msg(!camOn ? "prejoin.cameraOff" : hasCam ? "prejoin.cameraStarting" : "prejoin.noCamera"));
  };

  // Devices without a label (no permission yet) are numbered; none at all says so.
  const fillSelect = (sel: HTMLSelectElement, devices: MediaDeviceInfo[], current: string | undefined, numbered: Key, none: Key) => {
    sel.replaceChildren(
      ...devices.map((d, i) => {
        const o = h("option", { value: d.deviceId }, d.label || msg(numbered, { n: i + 1 }));
        o.selected = d.deviceId === current;
        return o;
      }),
    );
    sel.disabled = devices.length === 0;
    if (devices.length === 0) sel.append(h("option", {}, msg(none)));
  };

  const refreshDevices = async () => {
    const d = await listDevices();
    const aId = stream.getAudioTracks()[0]?.getSettings().deviceId;
    const vId = stream.getVideoTracks()[0]?.getSettings().deviceId;
    fillSelect(camSel, d.cameras, vId, "devices.cameraN", "devices.noCamera");
    fillSelect(micSel, d.microphones, aId, "devices.microphoneN", "devices.noMicrophone");
    if (canChooseSpeaker()) fillSelect(spkSel, d.speakers, spkSel.value || undefined, "devices.speakerN", "devices.noSpeaker");
    else {
      spkSel.replaceChildren(h("option", {}, msg("devices.systemDefault")));
      spkSel.disabled = true;
    }
  };

  const acquire = async (audio: boolean, video: boolean) => {
    const r = await getLocalMedia({
      audio,
      video,
      audioDeviceId: micSel.value || undefined,
      videoDeviceId: camSel.value || undefined,
    });
    if (disposed) {
      stopStream(r.stream);
      return;
    }
    problems.replaceChildren(...r.problems.map((p) => h("p", {}, p)));
    return r.stream;
  };

  const setStream = (s: MediaStream) => {
    stream = s;
    video.srcObject = s;
    meter?.close();
    meter = new LevelMeter(s);
    render();
  };

  // Join waits for the first camera/microphone answer, so nobody joins
  // with nothing while the permission prompt is still open.
  const start = async () => {
    joinBtn.disabled = true;
    try {
      const s = await acquire(true, true);
      if (!s) return;
      setStream(s);
      await refreshDevices();
    } finally {
      joinBtn.disabled = false;
    }
  };

  const replaceKind = async (kind: "audio" | "video") => {
    const s = await acquire(kind === "audio", kind === "video");
    if (!s) return;
    const keep = kind === "audio" ? stream.getVideoTracks() : stream.getAudioTracks();
    const drop = kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
    drop.forEach((t) => t.stop());
    const next = new MediaStream([...keep, ...s.getTracks()]);
    next.getAudioTracks().forEach((t) => (t.enabled = micOn));
    setStream(next);
  };

  micBtn.addEventListener("click", async () => {
    micOn = !micOn;
    if (micOn && stream.getAudioTracks().length === 0) await replaceKind("audio");
    stream.getAudioTracks().forEach((t) => (t.enabled = micOn));
    render();
  });
  camBtn.addEventListener("click", async () => {
    camOn = !camOn;
    if (!camOn) {
      // Stop, not just disable: the camera light goes off.
      stream.getVideoTracks().forEach((t) => {
        t.stop();
        stream.removeTrack(t);
      });
      render();
    } else {
      render();
      await replaceKind("video");
    }
  });
  camSel.addEventListener("change", () => camOn && void replaceKind("video"));
  micSel.addEventListener("change", () => void replaceKind("audio"));
  spkSel.addEventListener("change", () => {
    if (spkSel.value) void video.setSinkId?.(spkSel.value).catch(() => {});
  });
  navigator.mediaDevices?.addEventListener?.("devicechange", refreshDevices);

  const meterTimer = setInterval(() => {
    const lvl = micOn && meter ? meter.level() : 0;
    meterFill.style.transform = `scaleX(${lvl.toFixed(3)})`;
    meterEl.setAttribute("aria-valuenow", String(Math.round(lvl * 100)));
  }, 100);

  const form = h(
    "form",
    {
      class: "join-panel",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const name = nameInput.value.trim();
        if (!name) {
          setText(errorEl, msg("prejoin.enterName"));
          nameInput.focus();
          return;
        }
        rememberName(name);
        errorEl.textContent = "";
        joinBtn.disabled = true;
        setText(joinBtn, msg("prejoin.joining"));
        handedOver = true;
        onJoin({
          stream,
          micOn,
          camOn,
          audioDeviceId: micSel.value || undefined,
          videoDeviceId: camSel.value || undefined,
          speakerId: canChooseSpeaker() ? spkSel.value || undefined : undefined,
          name,
          password: pwInput.value,
        });
      },
    },
    h("h1", {}, msg("prejoin.ready")),
    h("p", { class: "meeting-code" }, code),
    h("label", { class: "field" }, h("span", {}, msg("prejoin.name")), nameInput),
    pwRow,
    errorEl,
    joinBtn,
    h("p", { class: "small-links" }, h("a", { href: "/check" }, msg("home.checkConnection")), " · ", h("a", { href: "/" }, msg("common.backHome"))),
    languagePicker("lang-prejoin", "on-dark"),
  );

  const el = h(
    "div",
    { class: "prejoin" },
    h(
      "section",
      { class: "preview-col" },
      h("div", { class: "preview" }, video, offNote, h("div", { class: "preview-controls" }, micBtn, camBtn), meterEl),
      h(
        "div",
        { class: "devices" },
        h("label", { class: "field" }, h("span", {}, msg("devices.camera")), camSel),
        h("label", { class: "field" }, h("span", {}, msg("devices.microphone")), micSel),
        h("label", { class: "field" }, h("span", {}, msg("devices.speaker")), spkSel),
      ),
      problems,
    ),
    form,
  );
  render();
  void start().then(() => {
    if (opts.autoJoin && !disposed && !handedOver && nameInput.value.trim()) form.requestSubmit();
  });
  setTimeout(() => nameInput.value || nameInput.focus(), 0);
  // Loads the locale's date data now, not inside the join (clockTime).
  const warmClock = whenIdle(() => clockTime(currentLanguage()));

  return {
    el,
    fail(message: Msg, needPassword = false) {
      handedOver = false;
      setText(errorEl, message);
      joinBtn.disabled = false;
      setText(joinBtn, msg("prejoin.joinNow"));
      if (needPassword) {
        pwRow.hidden = false;
        pwInput.focus();
      }
    },
    dispose() {
      disposed = true;
      warmClock();
      clearInterval(meterTimer);
      meter?.close();
      navigator.mediaDevices?.removeEventListener?.("devicechange", refreshDevices);
      if (!handedOver) stopStream(stream);
    },
  };
}
