package marquee

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	for _, tc := range []struct {
		err     error
		code    string
		message string
	}{
		{nil, "", ""},
		{errors.New("open /secret/path: denied"), EINTERNAL, "internal error"},
		{Errorf(ENOTFOUND, "media %q not found", "x"), ENOTFOUND, `media "x" not found`},
		{fmt.Errorf("find media: %w", Errorf(ECONFLICT, "in use")), ECONFLICT, "in use"},
		{WrapError(EINVALID, errors.New("sql: syntax"), "bad cursor"), EINVALID, "bad cursor"},
	} {
		if got := ErrorCode(tc.err); got != tc.code {
			t.Errorf("ErrorCode(%v)=%q, want %q", tc.err, got, tc.code)
		}
		if got := ErrorMessage(tc.err); got != tc.message {
			t.Errorf("ErrorMessage(%v)=%q, want %q", tc.err, got, tc.message)
		}
	}
}
