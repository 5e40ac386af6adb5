// The parts of a cluster for browser tests: a real redis-server, Huddle
// nodes on it, and HAProxy with deploy/haproxy.cfg in front of them.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startServer } from "./server.mjs";
import { poll } from "./browser.mjs";

const have = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** skipCluster is a node:test skip reason when the cluster's programs are missing. */
export const skipCluster = !have("redis-server") || !have("haproxy") ? "redis-server or haproxy not installed (scripts/setup-test.sh installs them)" : false;

const haproxyCfg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../deploy/haproxy.cfg");

/** startRedis starts a redis-server that keeps nothing on disk; .url is its address. */
export async function startRedis() {
  const port = await freePort();
  const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", mkdtempSync(path.join(os.tmpdir(), "huddle-redis-")), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  redis.url = `redis://127.0.0.1:${port}/0`;
  return redis;
}

/**
 * startNode starts a node of the cluster on redis, retrying while Redis is
 * not up yet; opts.port starts it again where it was (a restart).
 */
export async function startNode(redis, id, args = [], opts = {}) {
  for (let tries = 0; ; tries++) {
    try {
      return await startServer({ ...opts, args: ["--redis-url", redis.url, "--node-id", id, ...args] });
    } catch (e) {
      if (tries > 20) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * startHAProxy puts HAProxy in front of up to three nodes (by port; a
 * missing one is a port nothing listens on) and waits until its health
 * checks route to the `live` first of them; .url is its address.
 */
export async function startHAProxy(ports, live = ports.length) {
  const bind = `127.0.0.1:${await freePort()}`;
  const env = { ...process.env, HUDDLE_BIND: bind };
  for (let i = 0; i < 3; i++) env[`HUDDLE_NODE${i + 1}`] = `127.0.0.1:${ports[i] ?? (await freePort())}`;
  const haproxy = spawn("haproxy", ["-db", "-f", haproxyCfg], { stdio: "ignore", env });
  haproxy.url = `http://${bind}`;
  // Health checks: rise 2, every second.
  await poll(async () => {
    const seen = new Set();
    for (let i = 0; i < 4 * live; i++) {
      const res = await fetch(`${haproxy.url}/healthz`).catch(() => null);
      const node = res?.headers.get("set-cookie")?.match(/HUDDLE_NODE=(n\d)/)?.[1];
      if (node) seen.add(node);
    }
    return seen.size === live;
  }, { what: `HAProxy routes to ${live} nodes`, timeout: 20000 });
  return haproxy;
}

/**
 * routedTo waits until HAProxy sends a request carrying node's cookie to
 * node again (a restarted node is back once two health checks passed).
 */
export async function routedTo(haproxy, node) {
  await poll(async () => {
    const res = await fetch(`${haproxy.url}/healthz`, { headers: { cookie: `HUDDLE_NODE=${node}` } }).catch(() => null);
    // A request sent elsewhere is answered with that node's cookie.
    return res?.ok && !/HUDDLE_NODE=/.test(res.headers.get("set-cookie") ?? "");
  }, { what: `HAProxy routes to ${node} again`, timeout: 20000 });
}
