package jsonhttp

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestErrorShape(t *testing.T) {
	rec := httptest.NewRecorder()
	Error(rec, 429, "rate-limited", "slow down")
	var b ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 429 || b.Error.Code != "rate-limited" || b.Error.Message != "slow down" {
		t.Errorf("status %d body %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", rec.Header())
	}
}
