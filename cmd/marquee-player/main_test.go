package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/mqtt/mqtttest"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	m := NewMain(&stderr, &stderr, env(map[string]string{
		"MARQUEE_SERVER":        "https://signage.example.com",
		"MARQUEE_BROKER":        "tcp://broker:1883",
		"MARQUEE_DISPLAY_ID":    "dsp_1",
		"MARQUEE_DISPLAY_TOKEN": "secret",
		"MARQUEE_CACHE_LIMIT":   "512MiB",
		"MARQUEE_LOG_LEVEL":     "debug",
	}))
	if err := m.ParseFlags([]string{"--cache-dir", "/var/lib/marquee-player", "--broker", ""}); err != nil {
		t.Fatal(err)
	}
	c := m.Config
	if c.Server != "https://signage.example.com" || c.DisplayID != "dsp_1" || c.Token != "secret" {
		t.Errorf("from the environment: %+v", c)
	}
	if c.CacheLimit != 512<<20 || c.CacheDir != "/var/lib/marquee-player" || c.Output != "headless" {
		t.Errorf("limit %d, dir %q, output %q", c.CacheLimit, c.CacheDir, c.Output)
	}
	if c.Broker != "" {
		t.Errorf("a flag must win over the environment: broker %q", c.Broker)
	}
}

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	os.WriteFile(file, []byte("  from-file\n"), 0o600)
	m := NewMain(os.Stderr, os.Stderr, env(map[string]string{"MARQUEE_DISPLAY_TOKEN_FILE": file}))
	if err := m.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if got, want := m.Config.Token, "from-file"; got != want {
		t.Errorf("token %q, want %q", got, want)
	}
	m = NewMain(os.Stderr, os.Stderr, env(map[string]string{"MARQUEE_DISPLAY_TOKEN": "x"}))
	if err := m.ParseFlags([]string{"--token-file", file}); err == nil {
		t.Error("token and token file both set: want an error")
	}
}

func TestBadSettings(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--output", "mpv"}, nil, "not in this build"},
		{[]string{"--output", "hologram"}, nil, "not an output"},
		{nil, map[string]string{"MARQUEE_CACHE_LIMIT": "lots"}, "not a size"},
		{[]string{"--log-level", "loud"}, nil, "log-level"},
		{[]string{"--cache-dir", "DIR"}, nil, "server URL is required"},
	} {
		var stdout, stderr bytes.Buffer
		e := tc.env
		if e == nil {
			e = map[string]string{}
		}
		args := tc.args
		for i, a := range args {
			if a == "DIR" {
				args[i] = t.TempDir()
			}
		}
		if code := run(context.Background(), args, &stdout, &stderr, env(e)); code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want 1 and %q", tc.args, tc.env, code, stderr.String(), tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &stdout, &stdout, env(nil)); code != 0 || !strings.HasPrefix(stdout.String(), "marquee-player ") {
		t.Errorf("exit %d, output %q", code, stdout.String())
	}
}

type oneDisplay struct{}

func (oneDisplay) AuthenticateDisplay(_ context.Context, id, token string) error {
	if id == "dsp_main" && token == "main-token" {
		return nil
	}
	return marquee.Errorf(marquee.EUNAUTHORIZED, "no")
}

// TestMainEndToEnd runs the real Main against a server on :0 and the
// embedded broker: it plays, reports its status, and shuts down cleanly.
func TestMainEndToEnd(t *testing.T) {
	body := []byte("a still frame")
	sum := sha256.Sum256(body)
	sha := hex.EncodeToString(sum[:])
	st := marquee.DesiredState{
		Format: 1, DisplayID: "dsp_main", Revision: 3,
		Rules: []marquee.Rule{{ScheduleID: "sch", Name: "all day", Playlist: marquee.PlaylistRef{PlaylistID: "pls", Revision: 1}, Layer: marquee.LayerNormal, Timezone: "Asia/Ho_Chi_Minh"}},
		Playlists: []marquee.Playlist{{PlaylistID: "pls", Revision: 1, Name: "p", Items: []marquee.PlaylistItem{
			{MediaID: "med", SHA256: sha, DurationMS: 10000, Fit: "fill"},
		}}},
		Media: []marquee.MediaAsset{{SHA256: sha, MediaID: "med", Name: "Frame", Kind: "image", MIME: "image/png", Size: int64(len(body)), URL: "/api/v1/player/media/" + sha}},
	}
	stateJSON, _ := json.Marshal(st)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer main-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/api/v1/player/state":
			w.Header().Set("ETag", `"rev-3"`)
			w.Write(stateJSON)
		case "/api/v1/player/media/" + sha:
			http.ServeContent(w, r, sha, time.Unix(0, 0), bytes.NewReader(body))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	b, err := broker.New(broker.Config{TCPAddr: "127.0.0.1:0", Displays: oneDisplay{}, ServerPassword: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	server := mqtttest.Connect(t, mqtt.Config{BrokerURL: "tcp://" + b.Addr(), ClientID: "srv", Username: broker.DefaultServerUsername, Password: "pw", CleanSession: true})
	status := mqtttest.NewRecorder()
	if err := server.Subscribe(context.Background(), mqtt.Topics{}.Status("dsp_main"), 1, status.Handle); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	m := NewMain(&logs, &logs, env(map[string]string{
		"MARQUEE_SERVER": srv.URL, "MARQUEE_BROKER": "tcp://" + b.Addr(),
		"MARQUEE_DISPLAY_ID": "dsp_main", "MARQUEE_DISPLAY_TOKEN": "main-token",
		"MARQUEE_CACHE_DIR": t.TempDir(),
	}))
	if err := m.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	status.Wait(t, 10*time.Second, "an online status playing the frame", func(msg mqtt.Message) bool {
		var s marquee.Status
		return json.Unmarshal(msg.Payload, &s) == nil && s.Online && s.StateRevision == 3 && s.Current != nil && s.Current.MediaID == "med"
	})
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := m.Close(sctx); err != nil {
		t.Fatalf("Close: %v\n%s", err, logs.String())
	}
	status.Wait(t, 5*time.Second, "the offline status", func(msg mqtt.Message) bool {
		var s marquee.Status
		return json.Unmarshal(msg.Payload, &s) == nil && !s.Online && !s.SentAt.IsZero()
	})
}
