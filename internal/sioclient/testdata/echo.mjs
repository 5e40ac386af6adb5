// A bare socket.io 4.8.4 server for the client's tests: checks auth, echoes,
// disconnects on request, asks the client for an ack. Short pings.
//   node echo.mjs --port N
import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values } = parseArgs({ options: { port: { type: "string" } } });
const httpServer = http.createServer((req, res) => res.end("ok\n"));
const io = new Server(httpServer, { pingInterval: 300, pingTimeout: 300 });
io.use((socket, next) => {
  if (socket.handshake.auth?.token === "bad") {
    const err = new Error("denied by test");
    err.data = { why: "bad token" };
    return next(err);
  }
  next();
});
io.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
  socket.on("echo", (...args) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    if (ack) ack(...args);
    else socket.emit("echo", ...args);
  });
  socket.on("kick", () => socket.disconnect(true));
  socket.on("ask", async () => {
    const reply = await socket.timeout(2000).emitWithAck("question", 42).catch((e) => "timeout");
    socket.emit("answered", reply);
  });
});
httpServer.listen(Number(values.port), "127.0.0.1");
