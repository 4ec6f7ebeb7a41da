package fleet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test schemas

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
)

var _ fleet.Store = (*sqlstore.DB)(nil)

const (
	serverUser     = "marquee-server"
	serverPassword = "test-server-password"
	postgresEnv    = "MARQUEE_TEST_POSTGRES_DSN"
)

// clock is a settable clock shared by the builder, the services and the
// fleet service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is a real store, real services, the embedded broker on a loopback
// port, and a fleet service connected to it as the server.
type env struct {
	t         *testing.T
	ctx       context.Context
	clock     *clock
	db        *sqlstore.DB
	lib       *media.Library
	auth      *auth.Service
	playlists *playlists.Service
	displays  *displays.Service
	schedules *schedules.Service
	builder   *desired.Builder
	broker    *broker.Broker
	topics    mqtt.Topics
	fleet     *fleet.Service
	logs      *syncBuffer
}

type dialect string

const (
	sqlite   dialect = "sqlite"
	postgres dialect = "postgres"
)

// forEachDialect runs fn on SQLite, and on PostgreSQL when
// MARQUEE_TEST_POSTGRES_DSN is set.
func forEachDialect(t *testing.T, fn func(t *testing.T, d dialect)) {
	for _, d := range []dialect{sqlite, postgres} {
		t.Run(string(d), func(t *testing.T) {
			if d == postgres && os.Getenv(postgresEnv) == "" {
				t.Skipf("PostgreSQL variant skipped: set %s", postgresEnv)
			}
			fn(t, d)
		})
	}
}

// newEnv builds an environment; cfg adjusts the fleet settings. The fleet
// service is created but not started.
func newEnv(t *testing.T, d dialect, cfg func(*fleet.Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "m.db")
	if d == postgres {
		dsn = newPostgresDSN(t)
	}
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	lib, err := media.NewLibrary(db, media.Config{Dir: filepath.Join(dir, "media"), FFprobePath: "-", FFmpegPath: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close(context.Background()) })
	e := &env{t: t, ctx: ctx, db: db, lib: lib, logs: &syncBuffer{},
		clock:  &clock{t: time.Date(2025, 6, 10, 3, 0, 0, 0, time.UTC)}, // 10:00 in Hà Nội
		topics: mqtt.Topics{Prefix: "test/v1"}}
	e.auth = auth.NewService(db, auth.Config{Now: e.clock.Now})
	e.playlists = playlists.NewService(db, db, playlists.Config{Now: e.clock.Now})
	e.displays = displays.NewService(db, displays.Config{Now: e.clock.Now})
	e.schedules = schedules.NewService(db, schedules.Config{Now: e.clock.Now})
	e.builder = desired.NewBuilder(db, lib, admin.URLs{}, desired.Config{Now: e.clock.Now})
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	b, err := broker.New(broker.Config{TCPAddr: "127.0.0.1:0", Topics: e.topics, Displays: displayAuth{e.displays},
		ServerUsername: serverUser, ServerPassword: serverPassword, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	e.broker = b

	fc := fleet.Config{
		Store:  db,
		States: e.builder,
		Auth:   e.auth,
		MQTT: mqtt.Config{BrokerURL: "tcp://" + b.Addr(), ClientID: "marquee-server-test", Username: serverUser,
			Password: serverPassword, CleanSession: true},
		Topics: e.topics,
		Now:    e.clock.Now,
		Logger: logger,
	}
	if cfg != nil {
		cfg(&fc)
	}
	f, err := fleet.New(fc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.Close(ctx); err != nil {
			t.Errorf("fleet Close: %v", err)
		}
	})
	e.fleet = f
	return e
}

// start starts the fleet service and waits until it is connected.
func (e *env) start() {
	e.t.Helper()
	if err := e.fleet.Start(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := e.fleet.Client().WaitConnected(ctx); err != nil {
		e.t.Fatal(err)
	}
}

type displayAuth struct{ s *displays.Service }

func (a displayAuth) AuthenticateDisplay(ctx context.Context, id, token string) error {
	_, err := a.s.Authenticate(ctx, id, token)
	return err
}

func newPostgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	pg, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "fleet_" + hex.EncodeToString(b)
	if _, err := pg.Exec(`CREATE SCHEMA ` + schema); err != nil {
		pg.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer pg.Close()
		if _, err := pg.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func (e *env) png(name string, c color.NRGBA) *media.Item {
	e.t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 32, 16))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		e.t.Fatal(err)
	}
	it, err := e.lib.Upload(e.ctx, &buf, media.Meta{Name: name, OrgID: auth.RootOrgID})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

func (e *env) playlist(name string, items ...*media.Item) *playlists.Playlist {
	e.t.Helper()
	p, err := e.playlists.Create(e.ctx, playlists.Input{Name: name, Items: itemsOf(items), OrgID: auth.RootOrgID})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func itemsOf(ms []*media.Item) []playlists.Item {
	items := make([]playlists.Item, len(ms))
	for i, m := range ms {
		items[i] = playlists.Item{MediaID: m.ID, DurationMS: 5000}
	}
	return items
}

func (e *env) display(name string, tags ...string) (*displays.Display, string) {
	e.t.Helper()
	d, token, err := e.displays.Create(e.ctx, displays.Input{OrgID: auth.RootOrgID, Name: name, Width: 96, Height: 48, Tags: tags})
	if err != nil {
		e.t.Fatal(err)
	}
	return d, token
}

func (e *env) schedule(in schedules.Input) *schedules.Schedule {
	e.t.Helper()
	in.OrgID = auth.RootOrgID
	s, _, err := e.schedules.Create(e.ctx, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// reapprove submits and approves schedule id again, as the server itself,
// so that it plays its playlist's current revision, and notifies the fleet.
func (e *env) reapprove(id string) {
	e.t.Helper()
	if _, err := e.schedules.Submit(e.ctx, id); err != nil {
		e.t.Fatalf("submit: %v", err)
	}
	if _, err := e.schedules.Approve(e.ctx, id); err != nil {
		e.t.Fatalf("approve: %v", err)
	}
	e.fleet.Notify(desired.ChangeSchedule, id)
}

// received is one message an observer got.
type received struct {
	topic    string
	payload  []byte
	retained bool
	at       time.Time
}

// observer is a real MQTT client, logged in as the server account,
// subscribed to every display's state.
type observer struct {
	t      *testing.T
	topics mqtt.Topics
	mu     sync.Mutex
	msgs   []received
	notify chan struct{}
}

func (e *env) observe(name string) *observer {
	e.t.Helper()
	o := &observer{t: e.t, topics: e.topics, notify: make(chan struct{}, 1)}
	c, err := mqtt.New(mqtt.Config{BrokerURL: "tcp://" + e.broker.Addr(), ClientID: "observer-" + name,
		Username: serverUser, Password: serverPassword, CleanSession: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close(context.Background()) })
	if err := c.Subscribe(e.ctx, e.topics.AllDisplays(mqtt.KindState), 1, func(_ context.Context, m mqtt.Message) {
		o.mu.Lock()
		o.msgs = append(o.msgs, received{topic: m.Topic, payload: bytes.Clone(m.Payload), retained: m.Retained, at: time.Now()})
		o.mu.Unlock()
		select {
		case o.notify <- struct{}{}:
		default:
		}
	}); err != nil {
		e.t.Fatal(err)
	}
	if err := c.Start(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// since returns the messages received from index i on.
func (o *observer) since(i int) []received {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]received(nil), o.msgs[i:]...)
}

func (o *observer) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.msgs)
}

// waitFor waits until the messages from index i on hold one for each of
// the displays, and returns them by display (the last of each).
func (o *observer) waitFor(i int, timeout time.Duration, ids ...string) map[string]received {
	o.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := map[string]received{}
		for _, m := range o.since(i) {
			id, _, _ := o.topics.Parse(m.topic)
			got[id] = m
		}
		all := true
		for _, id := range ids {
			if _, ok := got[id]; !ok {
				all = false
			}
		}
		if all {
			return got
		}
		if time.Now().After(deadline) {
			o.t.Fatalf("after %v: states received for %v, want all of %v", timeout, keys(got), ids)
		}
		select {
		case <-o.notify:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// state decodes a received state.
func state(t *testing.T, m received) *marquee.DesiredState {
	t.Helper()
	var st marquee.DesiredState
	if err := json.Unmarshal(m.payload, &st); err != nil {
		t.Fatalf("state on %s: %v", m.topic, err)
	}
	return &st
}

func keys(m map[string]received) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// perDisplay counts messages by display ID.
func (o *observer) perDisplay(ms []received) map[string]int {
	n := map[string]int{}
	for _, m := range ms {
		id, _, _ := o.topics.Parse(m.topic)
		n[id]++
	}
	return n
}

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
