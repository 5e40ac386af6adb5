package engineio

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Errors of the WebSocket opening handshake, answered with 400.
var (
	ErrHandshakeMethod     = errors.New("engineio: websocket handshake is not a GET")
	ErrHandshakeUpgrade    = errors.New("engineio: websocket handshake without Upgrade: websocket")
	ErrHandshakeConnection = errors.New("engineio: websocket handshake without Connection: upgrade")
	ErrHandshakeVersion    = errors.New("engineio: websocket version is not 13")
	ErrHandshakeKey        = errors.New("engineio: websocket key is not 16 bytes in base64")
)

// checkHandshake checks r is a WebSocket opening handshake (RFC 6455,
// section 4.2.1) before the connection is taken over, so that a refusal
// is still an ordinary HTTP response.
func (srv *Server) checkHandshake(r *http.Request) error {
	switch {
	case r.Method != http.MethodGet:
		return ErrHandshakeMethod
	case !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		return ErrHandshakeUpgrade
	case !httpguts.HeaderValuesContainsToken(r.Header.Values("Connection"), "upgrade"):
		return ErrHandshakeConnection
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return ErrHandshakeVersion
	}
	var key [18]byte // 16 bytes take 24 base64 characters, 18 bytes' room
	k := r.Header.Get("Sec-WebSocket-Key")
	if n, err := base64.StdEncoding.Decode(key[:], []byte(k)); len(k) != 24 || err != nil || n != 16 {
		return ErrHandshakeKey
	}
	return nil
}

// websocketGUID is RFC 6455's constant for Sec-WebSocket-Accept.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey is the Sec-WebSocket-Accept answering key.
func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(websocketGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// switchingProtocols is the 101 response completing a handshake with key,
// followed by first: the frames that go out in the same write.
func switchingProtocols(key string, first []byte) []byte {
	b := make([]byte, 0, 160+len(first))
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, acceptKey(key)...)
	b = append(b, "\r\n\r\n"...)
	return append(b, first...)
}
