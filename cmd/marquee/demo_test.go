package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `marquee demo` in-process: it seeds content, runs three
// players that show items and whose plays reach the server, and a second
// start on the same data dir reuses the content.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three players for a few seconds; skipped with -short")
	}
	dir := t.TempDir()
	var out syncBuffer
	start := func() *demoRun {
		t.Helper()
		d, err := startDemo(context.Background(), []string{"--data-dir", dir, "--http-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0"},
			&out, io.Discard, envMap())
		if err != nil {
			t.Fatalf("startDemo: %v\n%s", err, out.String())
		}
		return d
	}
	d := start()
	for _, want := range []string{"Marquee demo is running", "marquee-demo-2026", "Sân bay Thọ Xuân", "192×96", "1536×256", "tcp://127.0.0.1:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	if len(d.Agents) != 3 {
		t.Fatalf("%d players, want 3", len(d.Agents))
	}
	// Every screen shows something, and plays reach the server.
	base := "http://" + d.Main.HTTPAddr()
	token, code := login(t, base, "admin", demoPassword)
	if code != http.StatusOK {
		t.Fatalf("login with the demo password: %d", code)
	}
	deadline := time.Now().Add(40 * time.Second)
	for {
		showing := 0
		for _, a := range d.Agents {
			if st := a.Status(); st.Current != nil && st.Current.MediaID != "" {
				showing++
			}
		}
		_, body := get(t, base+"/api/v1/plays?limit=5", token)
		var page struct{ Items []json.RawMessage }
		json.Unmarshal(body, &page)
		if showing == 3 && len(page.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 40 s: %d of 3 screens showing, %d plays stored\n%s", showing, len(page.Items), out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}

	// A second run reuses the content: still three displays, same IDs.
	ids := func(d *demoRun) string {
		var s []string
		for _, x := range d.Displays {
			s = append(s, x.ID)
		}
		return strings.Join(s, ",")
	}
	first := ids(d)
	d2 := start()
	defer d2.Close(context.Background())
	if got := ids(d2); got != first {
		t.Fatalf("second run displays %s, want the first run's %s", got, first)
	}
}

func TestDemoPicksFreePorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	got := freeIfTaken(taken)
	if got == taken || !strings.HasSuffix(got, ":0") {
		t.Fatalf("freeIfTaken(%s) = %s, want port 0 on the same host", taken, got)
	}
	if free := freeIfTaken("127.0.0.1:0"); free != "127.0.0.1:0" {
		t.Fatalf("freeIfTaken of a free address = %s", free)
	}
}
