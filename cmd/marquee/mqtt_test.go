package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

// api sends a JSON request with the token and decodes the answer into out
// (when not nil); it returns the status.
func api(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

// TestServeMQTTEndToEnd: with the embedded broker on a loopback port, a
// display logged in with its ID and token receives its retained state, and
// an edit through the API reaches it within a second.
func TestServeMQTTEndToEnd(t *testing.T) {
	m, _ := startMain(t, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"), "--data-dir", t.TempDir())
	if m.MQTTAddr() == "" {
		t.Fatal("no MQTT address")
	}
	base := "http://" + m.HTTPAddr()
	token, _ := login(t, base, "admin", "correct-horse-battery")
	item, code := upload(t, base, token, "banner.png", testPNG(t, 64, 32))
	if code != 201 {
		t.Fatalf("upload=%d", code)
	}
	var pl struct{ ID string }
	if code := api(t, "POST", base+"/api/v1/playlists", token, map[string]any{"name": "Sân bay",
		"items": []map[string]any{{"media_id": item["id"]}}}, &pl); code != 201 {
		t.Fatalf("create playlist=%d", code)
	}
	var d struct{ ID, Token string }
	if code := api(t, "POST", base+"/api/v1/displays", token, map[string]any{"name": "Cổng A", "width": 192, "height": 96,
		"tags": []string{"airport"}}, &d); code != 201 {
		t.Fatalf("create display=%d", code)
	}
	var sc struct{ ID string }
	if code := api(t, "POST", base+"/api/v1/schedules", token, map[string]any{"name": "Sân bay", "playlist_id": pl.ID,
		"targets": map[string]any{"tags": []string{"airport"}}}, &sc); code != 201 {
		t.Fatalf("create schedule=%d", code)
	}
	// Only approved schedules reach displays: the admin submits and
	// approves it.
	for _, step := range []string{"submit", "approve"} {
		if code := api(t, "POST", base+"/api/v1/schedules/"+sc.ID+"/"+step, token, nil, nil); code != 200 {
			t.Fatalf("%s schedule=%d", step, code)
		}
	}

	states := make(chan *marquee.DesiredState, 8)
	c, err := mqtt.New(mqtt.Config{BrokerURL: "tcp://" + m.MQTTAddr(), ClientID: d.ID, Username: d.ID, Password: d.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	topic := mqtt.Topics{}.State(d.ID)
	if err := c.Subscribe(context.Background(), topic, 1, func(_ context.Context, msg mqtt.Message) {
		var st marquee.DesiredState
		if err := json.Unmarshal(msg.Payload, &st); err == nil {
			states <- &st
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := func(what string, ok func(*marquee.DesiredState) bool) *marquee.DesiredState {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case st := <-states:
				if ok(st) {
					return st
				}
			case <-timeout:
				t.Fatalf("the display did not receive %s", what)
			}
		}
	}
	st := next("its state with the schedule", func(st *marquee.DesiredState) bool { return len(st.Rules) == 1 })
	if st.DisplayID != d.ID || len(st.Media) != 1 || st.Media[0].Width != 192 {
		t.Fatalf("state %+v", st)
	}

	start := time.Now()
	if code := api(t, "PUT", base+"/api/v1/displays/"+d.ID, token, map[string]any{"name": "Cổng A (mới)", "width": 192, "height": 96,
		"tags": []string{"airport"}}, nil); code != 200 {
		t.Fatalf("update display=%d", code)
	}
	st2 := next("the renamed display's state", func(s *marquee.DesiredState) bool { return s.Display.Name == "Cổng A (mới)" })
	if lat := time.Since(start); lat > time.Second {
		t.Errorf("state published %v after the edit, want within 1s", lat)
	} else {
		t.Logf("edit to published state: %v", lat.Round(time.Millisecond))
	}
	if st2.Revision <= st.Revision {
		t.Fatalf("revision %d after %d", st2.Revision, st.Revision)
	}

	// Its token does not open another display's topics.
	var other struct{ ID string }
	api(t, "POST", base+"/api/v1/displays", token, map[string]any{"name": "B", "width": 96, "height": 48}, &other)
	err = c.Subscribe(context.Background(), mqtt.Topics{}.State(other.ID), 1, func(context.Context, mqtt.Message) {})
	if marquee.ErrorCode(err) != marquee.EFORBIDDEN {
		t.Fatalf("subscribing to another display's state: %v, want forbidden", err)
	}
}

// TestServeMQTTPortInUse: a taken MQTT port stops serve with a message
// naming the address, the flag and the variable.
func TestServeMQTTPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	var out, logs syncBuffer
	m := NewMain(&out, &logs, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"))
	if err := m.ParseFlags("serve", []string{"--http-addr", "127.0.0.1:0", "--mqtt-addr", addr, "--data-dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	err = m.Run(context.Background())
	m.Close(context.Background())
	if err == nil {
		t.Fatalf("Run with the MQTT port %s taken succeeded", addr)
	}
	for _, want := range []string{addr, "already in use", "--mqtt-addr", "MARQUEE_MQTT_ADDR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if m.HTTPAddr() != "" {
		t.Errorf("HTTP was served although MQTT failed")
	}
}

// TestServeWithoutMQTT: --mqtt-addr "" runs with no broker; the API works.
func TestServeWithoutMQTT(t *testing.T) {
	m, _ := startMain(t, envMap("MARQUEE_ADMIN_PASSWORD", "correct-horse-battery"), "--data-dir", t.TempDir(), "--mqtt-addr", "")
	if m.MQTTAddr() != "" {
		t.Fatalf("MQTTAddr=%q, want none", m.MQTTAddr())
	}
	base := "http://" + m.HTTPAddr()
	token, _ := login(t, base, "admin", "correct-horse-battery")
	var d struct{ ID string }
	if code := api(t, "POST", base+"/api/v1/displays", token, map[string]any{"name": "A", "width": 96, "height": 48}, &d); code != 201 {
		t.Fatalf("create display=%d", code)
	}
	var st marquee.DesiredState
	if code := api(t, "GET", base+"/api/v1/displays/"+d.ID+"/state", token, nil, &st); code != 200 || st.DisplayID != d.ID {
		t.Fatalf("state=%d %+v", code, st)
	}
}

func TestLoopback(t *testing.T) {
	for in, want := range map[string]string{
		":1883":          "127.0.0.1:1883",
		"[::]:1883":      "127.0.0.1:1883",
		"0.0.0.0:1883":   "127.0.0.1:1883",
		"10.0.0.5:1883":  "10.0.0.5:1883",
		"127.0.0.1:4000": "127.0.0.1:4000",
	} {
		if got := loopback(in); got != want {
			t.Errorf("loopback(%q)=%q, want %q", in, got, want)
		}
	}
	if got := redactURL("tcp://srv:secret@mosquitto:1883"); got != "tcp://mosquitto:1883" {
		t.Errorf("redactURL=%q", got)
	}
}
