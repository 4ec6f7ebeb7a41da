package auth_test

import (
	"strings"
	"testing"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

func TestCheckPasswordStrength(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		rule string // a word of the message; "" means accepted
	}{
		// Accepted.
		{"correct-horse-battery", ""},
		{"marquee-demo-2026", ""}, // the demo's password
		{"test password 123", ""},
		{"e2e-admin-password-1234", ""},
		{"Tr0ub4dor&3x", ""},                // exactly MinPasswordLen
		{"correcthorsebatterystaple", ""},   // one kind, but a passphrase's length
		{"mật khẩu của tôi", ""},            // 16 runes (more bytes), letters and spaces
		{"X7RJQ2KMNPV4TWZ5A3HBCYD6LE", ""},  // GeneratePassword's alphabet
		{"ABCDEFGHJKLMNPQRSTUVWXYZ", ""},    // one kind, 24 characters
		{strings.Repeat("ab1-cd2.", 9), ""}, // 72 bytes
		{"the password is 42 and more", ""}, // a common word inside, not alone
		{"admin-of-the-lobby-screens", ""},  // a common word with a letter after its symbols
		{"2026 marquee rollout plan", ""},   // digits before words
		{"", "at least 12 characters"},
		{"short-1", "at least 12 characters"},
		{"Abc-1234567", "at least 12 characters"}, // 11
		{"mật khẩu 1", "at least 12 characters"},  // 10 runes, 13 bytes
		{strings.Repeat("ab1-cd2.", 9) + "x", "at most 72 bytes"},
		{strings.Repeat("é", 40), "at most 72 bytes"}, // 40 runes, 80 bytes
		{"aaaaaaaaaaaa", "different characters"},
		{"abababababab1", "different characters"},
		{"111122223333", "different characters"},
		{"x" + strings.Repeat("7", 11), "different characters"}, // two kinds, two characters
		{"password1234", "common"},
		{"PASSWORD1234", "common"},
		{"admin1234567", "common"},
		{"marquee12345", "common"},
		{"qwertyuiop123", "common"},
		{"123456789012", "common"},
		{"Password2024!", "common"},
		{"P@ssw0rd-2026", "common"},
		{"4dmin1234567!", "common"},
		{"@dmin-123456", "common"},
		{"#Marquee#2026#", "common"},
		{"12345-signage-!", "common"},
		{"abcdefghijkl", "two kinds"},
		{"ZYXWVUTSRQPONM", "two kinds"},
		{"982374659812", "two kinds"},
		{"!@#$%^&*()_+", "two kinds"},
		{"lowercaseonlyhere", "two kinds"}, // 17 < passphraseLen
	} {
		err := auth.CheckPasswordStrength(tc.pw)
		switch {
		case tc.rule == "" && err != nil:
			t.Errorf("CheckPasswordStrength(%q) = %v, want nil", tc.pw, err)
		case tc.rule != "" && err == nil:
			t.Errorf("CheckPasswordStrength(%q) = nil, want an error about %q", tc.pw, tc.rule)
		case err != nil:
			if got := marquee.ErrorCode(err); got != marquee.EINVALID {
				t.Errorf("CheckPasswordStrength(%q): code %q, want %q", tc.pw, got, marquee.EINVALID)
			}
			msg := marquee.ErrorMessage(err)
			if !strings.Contains(msg, tc.rule) {
				t.Errorf("CheckPasswordStrength(%q) = %q, want a message about %q", tc.pw, msg, tc.rule)
			}
			if len(tc.pw) >= 4 && strings.Contains(msg, tc.pw) {
				t.Errorf("CheckPasswordStrength(%q): the message %q repeats the password", tc.pw, msg)
			}
		}
	}
}

// Generated passwords pass the policy, whatever their letters.
func TestGeneratedPasswordsAreStrong(t *testing.T) {
	for range 1000 {
		if pw := auth.GeneratePassword(); auth.CheckPasswordStrength(pw) != nil {
			t.Fatalf("generated %q: %v", pw, auth.CheckPasswordStrength(pw))
		}
	}
}
