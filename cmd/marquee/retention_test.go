package main

import (
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"400d", 400 * 24 * time.Hour, true},
		{"720h", 720 * time.Hour, true},
		{"-1d", 0, false},
		{"-5h", 0, false},
		{"a year", 0, false},
		{"d", 0, false},
	} {
		got, err := parseRetention(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if got, want := formatRetention(400*24*time.Hour), "400d"; got != want {
		t.Errorf("formatRetention = %q, want %q", got, want)
	}
}

func TestPlaysRetentionFlag(t *testing.T) {
	m := NewMain(nil, nil, func(k string) string {
		if k == "MARQUEE_PLAYS_RETENTION" {
			return "30d"
		}
		return ""
	})
	if err := m.ParseFlags("serve", nil); err != nil {
		t.Fatal(err)
	}
	if got, want := m.Config.PlaysRetention, 30*24*time.Hour; got != want {
		t.Fatalf("PlaysRetention from the environment = %v, want %v", got, want)
	}
	m = NewMain(nil, nil, func(string) string { return "" })
	if err := m.ParseFlags("serve", []string{"--plays-retention", "400d"}); err != nil {
		t.Fatal(err)
	}
	if got, want := m.Config.PlaysRetention, 400*24*time.Hour; got != want {
		t.Fatalf("PlaysRetention from the flag = %v, want %v", got, want)
	}
}
