// Files shared in the chat. The server keeps them while the meeting lasts
// and gives them only to its current members: every request shows the
// participant's resume token (docs/PROTOCOL.md, "Files in chat"). A
// download is fetched with that header and saved from a blob, so the
// token never goes into a URL.
import { msg, type Msg } from "./i18n";
import { isolate } from "./text";

/** The file of a chat message, as the server describes it. */
export interface ChatFile {
  id: string;
  name: string;
  size: number;
  type?: string;
}

/** humanSize shows a byte count as people read it: "2.4 MB", in the viewer's locale. */
export function humanSize(bytes: number, locale?: string): string {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"] as const;
  let n = Math.max(0, bytes);
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return new Intl.NumberFormat(locale, { style: "unit", unit: units[i], unitDisplay: i === 0 ? "long" : "short", maximumFractionDigits: i === 0 || n >= 100 ? 0 : 1 }).format(n);
}

/** A refused or failed upload or download: the server's code, or "network". */
export class FileError extends Error {
  constructor(
    readonly code: string,
    message = code,
  ) {
    super(message);
  }
}

/**
 * fileErrorMessage is what people read when a file was refused. name is
 * the file's, max the server's limit in bytes; download says which way
 * it went.
 */
export function fileErrorMessage(code: string, name: string, max: number, download = false, locale?: string): Msg {
  const who = isolate(name);
  switch (code) {
    case "file-too-large":
      return msg("files.tooLarge", { name: who, max: humanSize(max, locale) });
    case "too-many-files":
      return msg("files.tooMany");
    case "meeting-files-full":
      return msg("files.meetingFull");
    case "files-full":
      return msg("files.serverFull");
    case "rate-limited":
      return msg("files.rateLimited");
    case "not-member":
      return msg("files.notMember");
    case "not-found":
      return msg("files.gone");
    case "viewer":
      return msg("error.viewer");
  }
  return msg(download ? "files.downloadFailed" : "files.failed", { name: who });
}

/** Where a meeting's files live on the server. */
export function filesUrl(base: string, room: string, id = ""): string {
  return new URL(`/files/${encodeURIComponent(room)}${id ? "/" + encodeURIComponent(id) : ""}`, base).toString();
}

async function errorCode(res: { json(): Promise<any> }): Promise<string> {
  try {
    const body = await res.json();
    return typeof body?.error?.code === "string" ? body.error.code : "failed";
  } catch {
    return "failed";
  }
}

/**
 * uploadFile sends a file to a meeting; the server then posts its chat
 * message to everyone. XMLHttpRequest, not fetch: only it reports the
 * upload's progress.
 */
export function uploadFile(base: string, room: string, token: string, file: Blob & { name: string }, onProgress: (sent: number) => void): Promise<ChatFile> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", filesUrl(base, room));
    xhr.setRequestHeader("X-Huddle-Token", token);
    xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onerror = () => reject(new FileError("network"));
    xhr.onload = () => {
      const body = xhr.response;
      if (xhr.status === 201 && body?.file) resolve(body.file as ChatFile);
      else reject(new FileError(typeof body?.error?.code === "string" ? body.error.code : "failed"));
    };
    xhr.send(file);
  });
}

/** downloadFile fetches a shared file and hands it to the browser to save under its name. */
export async function downloadFile(base: string, room: string, token: string, f: ChatFile): Promise<void> {
  let res: Response;
  try {
    res = await fetch(filesUrl(base, room, f.id), { headers: { "X-Huddle-Token": token }, cache: "no-store" });
  } catch {
    throw new FileError("network");
  }
  if (!res.ok) throw new FileError(await errorCode(res));
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = f.name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser has taken the blob once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
