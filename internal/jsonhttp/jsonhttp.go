// Package jsonhttp writes the JSON answers of Huddle's HTTP APIs (the
// server API under /api/v1 and the admin dashboard's), so that every
// error has one shape: {"error": {"code": "...", "message": "..."}}.
package jsonhttp

import (
	"encoding/json"
	"net/http"
)

// ErrorBody is every JSON error.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error writes an error with its stable code and a message for people.
func Error(w http.ResponseWriter, status int, code, message string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, message
	Write(w, status, b)
}

// Write writes v as JSON; answers are never cached.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
