package abuse

import (
	"net/http"
	"strconv"
	"strings"
)

// catalogue is every kind of malformed input, each from a fresh connection.
func catalogue() []abuse {
	var c []abuse
	add := func(entries ...abuse) { c = append(c, entries...) }

	// Engine.IO packets: truncated, of a type a client never sends, unknown.
	add(onSession("engine: empty message", overWS, connected, wantClosed(), "")...)
	add(onSession("engine: open packet from the client", overBoth, connected, wantClosed(), "0")...)
	add(onSession("engine: upgrade packet on an open session", overBoth, connected, wantClosed(), "5")...)
	add(onSession("engine: unknown type 7", overBoth, connected, wantClosed(), "7")...)
	add(onSession("engine: unknown type x", overBoth, connected, wantClosed(), "x{}")...)
	add(onSession("engine: close packet", overBoth, connected, wantClosed(), "1")...)
	add(onSession("engine: noop from the client", overBoth, connected, wantIgnored(), "6")...)
	add(onSession("engine: pong without a ping", overBoth, connected, wantIgnored(), "3")...)
	add(onSession("engine: bad base64 binary", overPolling, connected, wantClosed(), "b!!!not base64")...)
	add(onSession("engine: binary data outside a binary event", overPolling, connected, wantClosed(), "bAAECAw==")...)

	// Socket.IO packets: truncated, wrong and unknown types.
	add(onSession("sio: message with no packet", overBoth, connected, wantClosed(), "4")...)
	add(onSession("sio: event with no payload", overBoth, connected, wantClosed(), "42")...)
	add(onSession("sio: truncated event array", overBoth, connected, wantClosed(), `42["join-room"`)...)
	add(onSession("sio: truncated event object", overBoth, connected, wantClosed(), `42["join-room",{"room":"ab`)...)
	add(onSession("sio: binary event without count", overBoth, connected, wantClosed(), `45["x"]`)...)
	add(onSession("sio: binary event count without dash", overBoth, connected, wantClosed(), `451["x"]`)...)
	add(onSession("sio: ack without id", overBoth, connected, wantClosed(), `43["x"]`)...)
	add(onSession("sio: ack without payload", overBoth, connected, wantClosed(), `431`)...)
	add(onSession("sio: ack of an unknown id", overBoth, connected, wantIgnored(), `43123[{"ok":true}]`)...)
	add(onSession("sio: CONNECT_ERROR from the client", overBoth, connected, wantClosed(), `44{"message":"x"}`)...)
	add(onSession("sio: unknown type 7", overBoth, connected, wantClosed(), `47["x"]`)...)
	add(onSession("sio: unknown type z", overBoth, connected, wantClosed(), `4z`)...)
	add(onSession("sio: DISCONNECT with a payload", overBoth, connected, wantClosed(), `41junk`)...)
	add(onSession("sio: CONNECT with a non-object payload", overBoth, notConnected, wantClosed(), `40[1]`)...)
	add(onSession("sio: CONNECT with broken JSON", overBoth, notConnected, wantClosed(), `40{"token":`)...)
	add(onSession("sio: CONNECT to an unknown namespace", overBoth, notConnected, wantConnectError("Invalid namespace"), `40/admin,`)...)
	add(onSession("sio: CONNECT twice", overBoth, connected, wantIgnored(), `40`)...)
	add(onSession("sio: event to an unknown namespace", overBoth, connected, wantIgnored(), `42/admin,["join-room","r1"]`)...)

	// Event payloads that are not JSON, not arrays, or have no usable name.
	add(onSession("sio: non-JSON event", overBoth, connected, wantClosed(), `42hello`)...)
	add(onSession("sio: object instead of array", overBoth, connected, wantClosed(), `42{"event":"join-room"}`)...)
	add(onSession("sio: string instead of array", overBoth, connected, wantClosed(), `42"join-room"`)...)
	add(onSession("sio: empty array", overBoth, connected, wantClosed(), `42[]`)...)
	add(onSession("sio: numeric event name", overBoth, connected, wantClosed(), `42[1,2]`)...)
	add(onSession("sio: null event name", overBoth, connected, wantClosed(), `42[null]`)...)
	add(onSession("sio: reserved event name", overBoth, connected, wantClosed(), `42["connect"]`)...)
	add(onSession("sio: unknown event", overBoth, connected, wantSignalingError("unknown-event"), `42["no-such-event",{}]`)...)
	add(onSession("sio: 10 KB event name", overWS, connected, wantSignalingError("unknown-event"), `42["`+strings.Repeat("e", 10_000)+`"]`)...)

	// Deep nesting and huge numbers.
	deep := strings.Repeat("[", 100_000)
	add(onSession("json: 100k nested arrays", overBoth, connected, wantClosed(), `42["join-room",`+deep+strings.Repeat("]", 100_000)+`]`)...)
	add(onSession("json: 100k unclosed arrays", overBoth, connected, wantClosed(), `42["join-room",`+deep)...)
	add(onSession("json: 20k nested objects", overWS, connected, wantClosed(), `42["chat-message",`+strings.Repeat(`{"a":`, 20_000)+"1"+strings.Repeat("}", 20_000)+`]`)...)
	big := "1" + strings.Repeat("0", 399)
	add(onSession("json: 1e999999 as the room", overBoth, connected, wantSignalingError("bad-request"), `42["join-room",1e999999]`)...)
	add(onSession("json: 1e999999 in the media state", overBoth, connected, wantAckError(1, "bad-request"), `421["join-room",{"room":"r1","state":{"audio":1e999999}}]`)...)
	add(onSession("json: 400-digit integer as the room", overBoth, connected, wantAckError(1, "bad-request"), `421["join-room",`+big+`]`)...)
	add(onSession("json: 400-digit integer in media-state", overBoth, connected, wantSignalingError("bad-request"), `42["media-state",{"audio":`+big+`}]`)...)
	add(onSession("json: -1e999999 as chat text", overBoth, connected, wantSignalingError("bad-request"), `42["chat-message",{"text":-1e999999}]`)...)

	// Invalid UTF-8 (text frames are checked by the WebSocket layer, polling
	// bodies by the Socket.IO parser).
	add(onSession("utf8: 0xff in an event", overBoth, connected, wantClosed(), "42[\"chat-message\",{\"text\":\"\xff\xfe\"}]")...)
	add(onSession("utf8: truncated sequence in an event name", overBoth, connected, wantClosed(), "42[\"join\xc3\"]")...)
	add(onSession("utf8: surrogate half encoded in UTF-8", overBoth, connected, wantClosed(), "42[\"join-room\",\"\xed\xa0\x80\"]")...)
	add(onSession("utf8: invalid bytes in CONNECT", overBoth, notConnected, wantClosed(), "40{\"a\":\"\xc0\xaf\"}")...)

	// Binary attachments that never arrive, and absurd counts.
	add(onSession("binary: attachment never sent", overBoth, connected, expect{kind: waitsForAttachments}, `451-["x",{"_placeholder":true,"num":0}]`)...)
	add(onSession("binary: 5999999 attachments", overBoth, connected, wantClosed(), `45999999-["x",{"_placeholder":true,"num":0}]`)...)
	add(onSession("binary: 17 attachments (limit 16)", overBoth, connected, wantClosed(), `4517-["x"]`)...)
	add(onSession("binary: negative count", overBoth, connected, wantClosed(), `45-1-["x"]`)...)

	// Ack ids.
	add(onSession("ack id: 20 digits", overBoth, connected, wantClosed(), `4212345678901234567890["leave-room"]`)...)
	add(onSession("ack id: 2^53", overBoth, connected, wantClosed(), `429007199254740992["leave-room"]`)...)
	add(onSession("ack id: 2^53-1 is answered", overBoth, connected, wantAckError(1<<53-1, "not-in-room"), `429007199254740991["leave-room"]`)...)

	// Many arguments.
	zeros := strings.Repeat(",0", 10_000)
	texts := strings.Repeat(`,{"text":"0123456789"}`, 10_000)
	add(onSession("args: 10,000 numbers to chat-message", overBoth, connected, wantSignalingError("bad-request"), `42["chat-message"`+zeros+`]`)...)
	add(onSession("args: 10,000 objects to join-room (210 KB)", overBoth, connected, wantAckError(5, "too-large"), `425["join-room"`+texts+`]`)...)
	add(onSession("args: 10,000 empty objects to leave-room", overBoth, connected, wantAckError(6, "not-in-room"), `426["leave-room"`+strings.Repeat(",{}", 10_000)+`]`)...)

	// Oversized messages.
	add(onSession("size: 2 MB WebSocket frame", overWS, connected, wantClosed(), `42["chat-message",{"text":"`+strings.Repeat("A", 2<<20)+`"}]`)...)
	add(onSession("size: 900 KB event (above --max-event-bytes)", overBoth, connected, wantAckError(2, "too-large"), `422["chat-message",{"text":"`+strings.Repeat("A", 900_000)+`"}]`)...)

	c = append(c, joinShapes()...)
	c = append(c, relayShapes()...)
	c = append(c, httpAbuse()...)
	c = append(c, customAbuse()...)
	return c
}

// joinShapes: join-room (and dialect B's room:join) with every wrong shape.
func joinShapes() []abuse {
	long := func(n int) string { return strings.Repeat("a", n) }
	shapes := []struct {
		name, arg, code string
	}{
		{"number", `123`, "bad-request"},
		{"boolean", `true`, "bad-request"},
		{"null", `null`, "invalid-room"},
		{"array", `["r1"]`, "bad-request"},
		{"empty object", `{}`, "invalid-room"},
		{"room null", `{"room":null}`, "invalid-room"},
		{"room number", `{"room":123}`, "bad-request"},
		{"room array", `{"room":["r1"]}`, "bad-request"},
		{"room object (query injection)", `{"room":{"$gt":""}}`, "bad-request"},
		{"empty room", `""`, "invalid-room"},
		{"room with space", `"a b"`, "invalid-room"},
		{"room path traversal", `"../../etc/passwd"`, "invalid-room"},
		{"room with NUL", `"r\u0000"`, "invalid-room"},
		{"room non-ASCII", `"ключ"`, "invalid-room"},
		{"room of 65 characters", `"` + long(65) + `"`, "invalid-room"},
		{"room of 60 KB", `{"room":"` + long(60_000) + `"}`, "invalid-room"},
		{"room of 70 KB", `"` + long(70_000) + `"`, "too-large"},
		{"empty name", `{"room":"r1","name":""}`, "invalid-name"},
		{"blank name", `{"room":"r1","name":"   "}`, "invalid-name"},
		{"name with NUL", `{"room":"r1","name":"a\u0000b"}`, "invalid-name"},
		{"name with escape sequence", `{"room":"r1","name":"\u001b[31mred"}`, "invalid-name"},
		{"name of 65 characters", `{"room":"r1","name":"` + long(65) + `"}`, "invalid-name"},
		{"name number", `{"room":"r1","name":5}`, "bad-request"},
		{"name object", `{"room":"r1","name":{"first":"x"}}`, "bad-request"},
		{"password object", `{"room":"r1","password":{}}`, "bad-request"},
		{"password of 10 KB", `{"room":"r1","password":"` + long(10_000) + `"}`, "too-large"},
		{"resume number", `{"room":"r1","resume":123}`, "bad-request"},
		{"resume of 300 bytes", `{"room":"r1","resume":"` + long(300) + `"}`, "too-large"},
		{"state string", `{"room":"r1","state":"loud"}`, "bad-request"},
		{"state with string flags", `{"room":"r1","state":{"audio":"yes"}}`, "bad-request"},
	}
	var out []abuse
	for i, s := range shapes {
		id := int64(100 + i)
		msg := "42" + strconv.FormatInt(id, 10) + `["join-room",` + s.arg + `]`
		out = append(out, onSession("join-room: "+s.name, overWS, connected, wantAckError(id, s.code), msg)...)
	}
	out = append(out, onSession("join-room: no argument", overBoth, connected, wantAckError(1, "bad-request"), `421["join-room"]`)...)
	out = append(out, onSession("join-room: number without ack", overBoth, connected, wantSignalingError("bad-request"), `42["join-room",42]`)...)
	out = append(out, onSession("join-room: object room without ack", overPolling, connected, wantSignalingError("bad-request"), `42["join-room",{"room":{}}]`)...)
	out = append(out, onSession("room:join: empty object", overBoth, connected, wantAckError(1, "invalid-name"), `421["room:join",{}]`)...)
	out = append(out, onSession("room:join: no room", overWS, connected, wantAckError(1, "invalid-room"), `421["room:join",{"email":"a@example.com"}]`)...)
	out = append(out, onSession("room:join: string", overWS, connected, wantSignalingError("bad-request"), `42["room:join","r1"]`)...)
	return out
}

// relayShapes: relays and other events with wrong payloads.
func relayShapes() []abuse {
	var out []abuse
	for _, s := range []struct{ name, msg, code string }{
		{"offer without to", `42["offer",{"offer":{"type":"offer","sdp":"v=0"}}]`, "bad-request"},
		{"offer to a number", `42["offer",{"to":7,"offer":{}}]`, "bad-request"},
		{"offer without body", `42["offer",{"to":"abc"}]`, "bad-request"},
		{"ice-candidate not in a room", `42["ice-candidate",{"to":"abc","candidate":{}}]`, "not-in-room"},
		{"ice-candidate with a 100-byte to", `42["ice-candidate",{"to":"` + strings.Repeat("x", 100) + `","candidate":{}}]`, "bad-request"},
		{"chat-message string", `42["chat-message","hi"]`, "bad-request"},
		{"chat-message blank", `42["chat-message",{"text":"  "}]`, "bad-request"},
		{"chat-message of 2001 characters", `42["chat-message",{"text":"` + strings.Repeat("é", 2001) + `"}]`, "too-large"},
		{"media-state array", `42["media-state",[true]]`, "bad-request"},
		{"room-settings not host", `42["room-settings",{"locked":true}]`, "not-in-room"},
		{"user:call without to", `42["user:call",{"offer":{}}]`, "bad-request"},
	} {
		out = append(out, onSession("event: "+s.name, overWS, connected, wantSignalingError(s.code), s.msg)...)
	}
	return out
}

// httpAbuse: requests the Engine.IO endpoint and the HTTP server refuse.
func httpAbuse() []abuse {
	const eio = "/socket.io/?EIO=4&transport=polling"
	return []abuse{
		onHTTP("EIO=3", wantHTTP(http.StatusBadRequest, 5), request{method: "GET", target: "/socket.io/?EIO=3&transport=polling"}),
		onHTTP("no EIO", wantHTTP(http.StatusBadRequest, 5), request{method: "GET", target: "/socket.io/?transport=polling"}),
		onHTTP("no transport", wantHTTP(http.StatusBadRequest, 0), request{method: "GET", target: "/socket.io/?EIO=4"}),
		onHTTP("unknown transport", wantHTTP(http.StatusBadRequest, 0), request{method: "GET", target: "/socket.io/?EIO=4&transport=flashsocket"}),
		onHTTP("GET without sid is a handshake", expect{kind: handshake}, request{method: "GET", target: eio}),
		onHTTP("POST without sid", wantHTTP(http.StatusBadRequest, 2), request{method: "POST", target: eio, body: []byte("40")}),
		onHTTP("GET with an unknown sid", wantHTTP(http.StatusBadRequest, 1), request{method: "GET", target: eio + "&sid=AAAAAAAAAAAAAAAAAAAA"}),
		onHTTP("POST with an unknown sid", wantHTTP(http.StatusBadRequest, 1), request{method: "POST", target: eio + "&sid=nope", body: []byte("40")}),
		onHTTP("POST with a 10 KB sid", wantHTTP(http.StatusBadRequest, 1), request{method: "POST", target: eio + "&sid=" + strings.Repeat("s", 10_000), body: []byte("40")}),
		onHTTP("PUT on a session", wantHTTP(http.StatusBadRequest, 3), request{method: "PUT", target: eio + "&sid={sid}", body: []byte("40")}),
		onHTTP("websocket transport without Upgrade", wantHTTP(http.StatusBadRequest, 3), request{method: "GET", target: "/socket.io/?EIO=4&transport=websocket"}),
		onHTTP("POST of 1,000,001 bytes", wantHTTP(http.StatusRequestEntityTooLarge, -1), request{method: "POST", target: eio + "&sid={sid}", body: []byte("4" + strings.Repeat("0", 1_000_000))}),
		onHTTP("chunked POST of 2 MB", wantHTTP(http.StatusRequestEntityTooLarge, -1), request{method: "POST", target: eio + "&sid={sid}", body: bytesOf('x', 2<<20), chunked: true}),
		onHTTP("POST of bad payload framing", wantHTTP(http.StatusBadRequest, 3), request{method: "POST", target: eio + "&sid={sid}", body: []byte("\x1e\x1e")}),
		onHTTP("request line of 64 KB fits the header limit", expect{kind: handshake}, request{method: "GET", target: eio + "&pad=" + strings.Repeat("p", 64<<10-60)}),
		onHTTP("request line of 128 KB", wantHTTP(http.StatusRequestHeaderFieldsTooLarge, -1), request{method: "GET", target: eio + "&pad=" + strings.Repeat("p", 128<<10)}),
		onHTTP("foreign Origin", wantHTTP(http.StatusForbidden, 4), request{method: "GET", target: eio, header: http.Header{"Origin": {"https://evil.example"}}}),
		onHTTP("Origin null", wantHTTP(http.StatusForbidden, 4), request{method: "GET", target: eio, header: http.Header{"Origin": {"null"}}}),
		onHTTP("websocket upgrade with version 8", wantHTTP(http.StatusBadRequest, -1), request{method: "GET", target: "/socket.io/?EIO=4&transport=websocket", header: http.Header{
			"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"8"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}}),
		onHTTP("websocket upgrade without key", wantHTTP(http.StatusBadRequest, -1), request{method: "GET", target: "/socket.io/?EIO=4&transport=websocket", header: http.Header{
			"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"}}}),
	}
}

func bytesOf(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}
