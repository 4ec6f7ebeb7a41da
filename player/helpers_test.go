package player_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/mqtt/mqtttest"
	"github.com/marquee-signage/marquee/player"
)

const (
	displayID      = "dsp_test"
	displayToken   = "tok-test-secret"
	serverUser     = "marquee-server"
	serverPassword = "server-secret"
	mediaPrefix    = "/api/v1/player/media/"
)

var topics mqtt.Topics

// testLogger writes to stderr with MARQUEE_TEST_LOG set, and discards
// otherwise.
func testLogger() *slog.Logger {
	if os.Getenv("MARQUEE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testServer plays the server's player endpoints: the desired state (Bearer
// token, ETag "rev-N", 304 on If-None-Match, Date) and media files
// (http.ServeContent, so Range works). Media can be held back or served
// corrupted.
type testServer struct {
	srv *httptest.Server

	mu      sync.Mutex
	state   []byte
	etag    string
	media   map[string][]byte        // sha → bytes served
	held    map[string]chan struct{} // sha → closed when released
	fetches map[string]int           // sha → media requests

	stateGets, notModified atomic.Int64
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	s := &testServer{media: map[string][]byte{}, held: map[string]chan struct{}{}, fetches: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+player.StatePath, s.serveState)
	mux.HandleFunc("GET "+mediaPrefix+"{sha}", s.serveMedia)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.releaseAll()
		s.srv.Close()
	})
	return s
}

func (s *testServer) URL() string { return s.srv.URL }

func authorized(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Bearer "+displayToken
}

func (s *testServer) serveState(w http.ResponseWriter, r *http.Request) {
	if !authorized(r) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	s.stateGets.Add(1)
	s.mu.Lock()
	body, etag := s.state, s.etag
	s.mu.Unlock()
	if body == nil {
		http.Error(w, "no state", http.StatusNotFound)
		return
	}
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		s.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (s *testServer) serveMedia(w http.ResponseWriter, r *http.Request) {
	if !authorized(r) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	sha := r.PathValue("sha")
	s.mu.Lock()
	body, ok := s.media[sha]
	gate := s.held[sha]
	s.fetches[sha]++
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	http.ServeContent(w, r, sha, time.Unix(0, 0), bytes.NewReader(body))
}

// setState serves st (its revision as the ETag) from now on.
func (s *testServer) setState(t *testing.T, st *marquee.DesiredState) {
	t.Helper()
	s.setRaw(mustJSON(t, st), fmt.Sprintf(`"rev-%d"`, st.Revision))
}

func (s *testServer) setRaw(body []byte, etag string) {
	s.mu.Lock()
	s.state, s.etag = body, etag
	s.mu.Unlock()
}

// hold makes requests for sha wait until release.
func (s *testServer) hold(sha string) {
	s.mu.Lock()
	s.held[sha] = make(chan struct{})
	s.mu.Unlock()
}

func (s *testServer) release(sha string) {
	s.mu.Lock()
	if g := s.held[sha]; g != nil {
		close(g)
		delete(s.held, sha)
	}
	s.mu.Unlock()
}

func (s *testServer) releaseAll() {
	s.mu.Lock()
	for sha, g := range s.held {
		close(g)
		delete(s.held, sha)
	}
	s.mu.Unlock()
}

func (s *testServer) fetchCount(sha string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches[sha]
}

// catalog builds states over media whose bytes the test server serves.
type catalog struct {
	srv    *testServer
	assets map[string]marquee.MediaAsset // by media ID
}

func newCatalog(srv *testServer) *catalog {
	return &catalog{srv: srv, assets: map[string]marquee.MediaAsset{}}
}

// asset registers a still called name (its media ID too) and returns its
// hash. With corrupt, the server serves bytes that do not match the hash.
func (c *catalog) asset(name string, corrupt bool) string {
	body := []byte(strings.Repeat("marquee test frame "+name+"\n", 64))
	sum := sha256.Sum256(body)
	sha := hex.EncodeToString(sum[:])
	served := body
	if corrupt {
		served = bytes.ToUpper(body)
	}
	c.srv.mu.Lock()
	c.srv.media[sha] = served
	c.srv.mu.Unlock()
	c.assets[name] = marquee.MediaAsset{
		SHA256: sha, MediaID: name, Name: "Media " + name, Kind: "image", MIME: "image/png",
		Size: int64(len(body)), Width: 192, Height: 96, URL: mediaPrefix + sha,
	}
	return sha
}

// item is a playlist entry for a registered asset (registered on first use).
func (c *catalog) item(name string, ms int64) marquee.PlaylistItem {
	a, ok := c.assets[name]
	if !ok {
		c.asset(name, false)
		a = c.assets[name]
	}
	return marquee.PlaylistItem{MediaID: name, SHA256: a.SHA256, DurationMS: ms, Fit: "fill"}
}

func (c *catalog) sha(name string) string { return c.assets[name].SHA256 }

// state builds a state with a manifest entry for every item.
func (c *catalog) state(rev int64, rules []marquee.Rule, fallback *marquee.PlaylistRef, pls ...marquee.Playlist) *marquee.DesiredState {
	st := &marquee.DesiredState{
		Format: marquee.StateFormat, DisplayID: displayID, Revision: rev,
		Display:  marquee.DisplayInfo{Name: "Test", Width: 192, Height: 96, Timezone: "Asia/Ho_Chi_Minh"},
		Rules:    rules,
		Fallback: fallback,
	}
	st.Playlists = pls
	seen := map[string]bool{}
	for _, p := range pls {
		for _, it := range p.Items {
			if !seen[it.SHA256] {
				seen[it.SHA256] = true
				st.Media = append(st.Media, c.assets[it.MediaID])
			}
		}
	}
	return st
}

func playlist(id string, items ...marquee.PlaylistItem) marquee.Playlist {
	return marquee.Playlist{PlaylistID: id, Revision: 1, Name: id, Items: items}
}

func ref(id string) marquee.PlaylistRef { return marquee.PlaylistRef{PlaylistID: id, Revision: 1} }

// allDay is a rule active all the time.
func allDay(schedule, pl string, layer marquee.Layer) marquee.Rule {
	return marquee.Rule{ScheduleID: schedule, Name: schedule, Playlist: ref(pl), Layer: layer, Timezone: "Asia/Ho_Chi_Minh"}
}

// loopState is a simple state: one all-day rule looping the named items.
func (c *catalog) loopState(rev int64, ms int64, names ...string) *marquee.DesiredState {
	var items []marquee.PlaylistItem
	for _, n := range names {
		items = append(items, c.item(n, ms))
	}
	return c.state(rev, []marquee.Rule{allDay("sch_loop", "pls_loop", marquee.LayerNormal)}, nil, playlist("pls_loop", items...))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// displays authenticates the one test display.
type displays struct{}

func (displays) AuthenticateDisplay(_ context.Context, id, token string) error {
	if id == displayID && token == displayToken {
		return nil
	}
	return marquee.Errorf(marquee.EUNAUTHORIZED, "bad credentials")
}

// startBroker starts the embedded broker on addr ("127.0.0.1:0" for any
// port); it is closed when the test ends (closing twice is fine). A port
// just freed by a stopped broker is retried for a few seconds.
func startBroker(t *testing.T, addr string) *broker.Broker {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := broker.New(broker.Config{
			TCPAddr: addr, Topics: topics, Displays: displays{},
			ServerUsername: serverUser, ServerPassword: serverPassword,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err = b.Start(); err == nil {
			t.Cleanup(func() { closeBroker(t, b) })
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func closeBroker(t *testing.T, b *broker.Broker) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Errorf("broker close: %v", err)
	}
}

// serverClient connects as the server account.
func serverClient(t *testing.T, url, clientID string) *mqtt.Client {
	t.Helper()
	return mqtttest.Connect(t, mqtt.Config{
		BrokerURL: url, ClientID: clientID, Username: serverUser, Password: serverPassword,
		CleanSession: true, MaxReconnectInterval: 200 * time.Millisecond, ConnectTimeout: 3 * time.Second,
		Logger: mqtttest.Logger(),
	})
}

func subscribe(t *testing.T, c *mqtt.Client, filter string) *mqtttest.Recorder {
	t.Helper()
	r := mqtttest.NewRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Subscribe(ctx, filter, 1, r.Handle); err != nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	return r
}

func publish(t *testing.T, c *mqtt.Client, topic string, payload []byte, retained bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, mqtt.Message{Topic: topic, Payload: payload, QoS: 1, Retained: retained}); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// deadURL returns a URL on which nothing listens.
func deadURL(t *testing.T, scheme string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return scheme + "://" + addr
}

// running is an agent under test with its recorded screen.
type running struct {
	*player.Agent
	out    *player.HeadlessOutput
	dir    string
	cancel context.CancelFunc
	done   chan error
	closed bool
}

// opts tweak a test agent's config.
type opts func(*player.Config)

// startAgent creates and runs an agent on dir against srvURL and brokerURL
// (either may be a dead URL; brokerURL "" means none). It is closed when the
// test ends unless the test closes it.
func startAgent(t *testing.T, dir, srvURL, brokerURL string, o ...opts) *running {
	t.Helper()
	out := player.NewHeadlessOutput(testLogger(), nil)
	cfg := player.Config{
		ServerURL: srvURL, BrokerURL: brokerURL, DisplayID: displayID, Token: displayToken,
		CacheDir: dir, Output: out,
		PollInterval: 500 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond,
		BatchMax: 5, BatchInterval: 200 * time.Millisecond, AckTimeout: 2 * time.Second,
		Version: "test", Logger: testLogger(),
	}
	for _, f := range o {
		f(&cfg)
	}
	if cfg.Now != nil {
		out = player.NewHeadlessOutput(testLogger(), cfg.Now)
		cfg.Output = out
	}
	a, err := player.NewAgent(cfg)
	if err != nil {
		t.Fatalf("NewAgent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Agent: a, out: out, dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop closes the agent gracefully and checks Run returned nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.closed {
		return
	}
	r.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-ctx.Done():
		t.Errorf("Run did not return after Close")
	}
}

// eventually polls cond every 20 ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shownSHAs returns the hashes of the items shown, in order.
func shownSHAs(out *player.HeadlessOutput) []string {
	var s []string
	for _, e := range out.Events() {
		if e.Item != nil {
			s = append(s, e.Item.SHA256)
		}
	}
	return s
}

func countSHA(out *player.HeadlessOutput, sha string) int {
	n := 0
	for _, s := range shownSHAs(out) {
		if s == sha {
			n++
		}
	}
	return n
}
