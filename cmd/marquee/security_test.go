package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesWeakAdminPasswords: serve stops before touching anything
// when MARQUEE_ADMIN_PASSWORD breaks the password policy, and says which
// variable and which rule.
func TestServeRefusesWeakAdminPasswords(t *testing.T) {
	for _, tc := range []struct{ pw, rule string }{
		{"admin", "at least 12 characters"},
		{"password1234", "common"},
		{"admin1234567", "common"},
		{"marquee12345", "common"},
		{"Marquee#2026", "common"},
		{"aaaaaaaaaaaaaaaa", "different characters"},
		{"lowercaseonlyhere", "two kinds"},
		{strings.Repeat("long-", 15), "at most 72 bytes"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		var out, logs syncBuffer
		m := NewMain(&out, &logs, envMap("MARQUEE_ADMIN_PASSWORD", tc.pw))
		if err := m.ParseFlags("serve", []string{"--http-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0", "--data-dir", dir}); err != nil {
			t.Fatal(err)
		}
		err := m.Run(context.Background())
		m.Close(context.Background())
		if err == nil {
			t.Errorf("serve accepted MARQUEE_ADMIN_PASSWORD=%q", tc.pw)
			continue
		}
		for _, want := range []string{"MARQUEE_ADMIN_PASSWORD", tc.rule} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("password %q: error %q does not mention %q", tc.pw, err, want)
			}
		}
		if strings.Contains(err.Error(), tc.pw) || strings.Contains(logs.String(), tc.pw) || strings.Contains(out.String(), tc.pw) {
			t.Errorf("password %q: repeated in the error or the output", tc.pw)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("password %q: the data dir was created before refusing (stat: %v)", tc.pw, err)
		}
	}
}

// TestDemoKeepsItsPassword: demo is exempt from the policy. Its own
// password passes it anyway; a weak one a user sets for a sandbox is
// accepted too.
func TestDemoKeepsItsPassword(t *testing.T) {
	for _, env := range []func(string) string{envMap(), envMap("MARQUEE_ADMIN_PASSWORD", "password1234")} {
		var out, logs syncBuffer
		m := NewMain(&out, &logs, func(k string) string {
			if v := env(k); v != "" || k != "MARQUEE_ADMIN_PASSWORD" {
				return v
			}
			return demoPassword // as startDemo does
		})
		if err := m.ParseFlags("demo", []string{"--http-addr", "127.0.0.1:0", "--mqtt-addr", "off", "--data-dir", t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		err := m.Run(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m.Close(ctx)
		cancel()
		if err != nil {
			t.Fatalf("demo Run: %v", err)
		}
		if pw := m.getenv("MARQUEE_ADMIN_PASSWORD"); strings.Contains(logs.String(), pw) {
			t.Fatalf("demo logged its admin password")
		}
	}
}

// TestGeneratedPasswordPrintedNotLogged: the generated admin password
// appears once, on stdout, for the operator; never in the log (stderr).
func TestGeneratedPasswordPrintedNotLogged(t *testing.T) {
	var out, logs syncBuffer
	m := NewMain(&out, &logs, envMap())
	if err := m.ParseFlags("serve", []string{"--http-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0",
		"--data-dir", t.TempDir(), "--log-level", "debug"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close(context.Background())
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	match := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if match == nil {
		t.Fatalf("no generated password printed; stdout:\n%s", out.String())
	}
	pw := match[1]
	if n := strings.Count(out.String(), pw); n != 1 {
		t.Errorf("the password appears %d times on stdout, want once", n)
	}
	if logs.String() == "" {
		t.Fatal("nothing logged at debug level: is the log captured?")
	}
	if strings.Contains(logs.String(), pw) {
		t.Errorf("the generated password is in the log:\n%s", logs.String())
	}
}
