package refusal

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	cause := errors.New("pion said no")
	e := &Error{Code: "bad-sdp", Message: "the session description was refused", Err: cause}
	if e.Error() != "bad-sdp: the session description was refused" {
		t.Errorf("Error() = %q", e.Error())
	}
	if !errors.Is(e, cause) {
		t.Error("the cause is not unwrapped")
	}
	var got *Error
	if !errors.As(fmt.Errorf("wrapped: %w", New("x", "y")), &got) || got.Code != "x" {
		t.Errorf("errors.As through a wrap: %+v", got)
	}
	if c, m := got.ErrorCode(); c != "x" || m != "y" {
		t.Errorf("ErrorCode() = %q, %q", c, m)
	}
}
