// Starts bin/huddle on free loopback ports for a test and stops it after.
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const binary = path.join(root, "bin/huddle");

/** A TCP port that was free a moment ago. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A UDP port that was free a moment ago, on every address. A free TCP
 * port says nothing of UDP: the SFU once failed to start on one that a
 * browser's ICE socket held (bind: address already in use).
 */
export async function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket("udp4");
    sock.unref();
    sock.on("error", reject);
    sock.bind(0, "0.0.0.0", () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}

/**
 * Starts the server. opts.args are extra flags; opts.port reuses a port
 * (for restart tests); opts.turn runs the embedded relay on a free port.
 * Returns {url, port, proc, logs(), seen(re), stop()}.
 */
export async function startServer(opts = {}) {
  const port = opts.port ?? (await freePort());
  const args = ["--addr", `127.0.0.1:${port}`, "--log-level", "debug"];
  if (opts.turn) {
    const turnPort = opts.turnPort ?? (await freePort());
    args.push("--turn-listen", `127.0.0.1:${turnPort}`, "--turn-public-ip", "127.0.0.1", "--turn-allow-private");
  } else {
    args.push("--turn=false");
  }
  args.push(...(opts.args ?? []));
  // Every test client is on 127.0.0.1: the per-IP limits are lifted unless a
  // test sets them, and one resume key is kept across restarts, as a real
  // deployment must (--resume-key). The SFU's UDP and ICE-TCP ports are free
  // ones, so that test servers running at once do not clash on 7882/7881.
  const env = {
    HUDDLE_SFU_UDP: String(await freeUdpPort()),
    HUDDLE_SFU_TCP: String(await freePort()),
    HUDDLE_MAX_PARTICIPANTS_PER_IP: "0",
    HUDDLE_ROOMS_PER_IP_PER_MINUTE: "0",
    HUDDLE_RESUME_KEY: "687564646c652d6532652d726573756d652d6b6579",
    ...process.env,
    ...(opts.env ?? {}),
  };
  const proc = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], env });
  let out = "";
  const watchers = new Set();
  const collect = (d) => {
    out += d;
    for (const check of watchers) check();
  };
  proc.stdout.on("data", collect);
  proc.stderr.on("data", collect);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`huddle exited ${proc.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`huddle did not become healthy:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    proc,
    logs: () => out,
    /**
     * seen resolves with performance.now() when a line the server writes
     * from now on first matches re: a time on the test's monotonic clock,
     * which a step of the wall clock cannot skew as the log's own time can.
     */
    seen(re) {
      return new Promise((resolve) => {
        let from = out.length;
        const check = () => {
          const end = out.lastIndexOf("\n") + 1;
          if (end <= from) return;
          const hit = out.slice(from, end).split("\n").some((line) => re.test(line));
          from = end;
          if (!hit) return;
          watchers.delete(check);
          resolve(performance.now());
        };
        watchers.add(check);
      });
    },
    async stop(signal = "SIGTERM") {
      // Gone already (a test may kill it with a signal): nothing to wait for.
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      return new Promise((resolve) => {
        proc.once("exit", (code) => resolve(code));
        proc.kill(signal);
        setTimeout(() => proc.kill("SIGKILL"), 15000).unref();
      });
    },
  };
}
