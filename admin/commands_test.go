package admin_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/auth"
	"github.com/marquee-signage/marquee/desired"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/mqtt/mqtttest"
	"github.com/marquee-signage/marquee/orgs"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
	"github.com/marquee-signage/marquee/sqlstore"
)

const (
	serverUser     = "marquee-server"
	serverPassword = "test server password"
)

// fleetStack is the whole server as `marquee serve` wires it: the stack
// (SQLite, media library, auth, httptest server) plus the embedded broker
// and the fleet service, with the player routes, commands, the playback
// log and display statuses.
type fleetStack struct {
	*stack
	broker *broker.Broker
	fleet  *fleet.Service
	topics mqtt.Topics
}

func newFleetStack(t *testing.T) *fleetStack {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, root: t.TempDir(), logs: &syncBuffer{}}
	s.mediaDir = filepath.Join(s.root, "data", "media")
	s.clock = &clock{t: time.Now().UTC()}
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(s.root, "marquee.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	s.db = db
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	authSvc := auth.NewService(db, auth.Config{SessionTTL: sessionTTL, BcryptCost: bcrypt.MinCost, Now: s.clock.Now})
	if _, _, err := authSvc.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lib, err := media.NewLibrary(db, media.Config{Dir: s.mediaDir, Logger: logger})
	if err != nil {
		t.Fatalf("new library: %v", err)
	}
	t.Cleanup(func() { lib.Close(context.Background()) })
	s.displays = displays.NewService(db, displays.Config{Now: s.clock.Now})
	states := desired.NewBuilder(db, lib, admin.URLs{}, desired.Config{Now: s.clock.Now})

	fs := &fleetStack{stack: s, topics: mqtt.Topics{Prefix: "test/v1"}}
	b, err := broker.New(broker.Config{TCPAddr: "127.0.0.1:0", Topics: fs.topics, Displays: displayAuth{s.displays},
		ServerUsername: serverUser, ServerPassword: serverPassword, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	fs.broker = b
	f, err := fleet.New(fleet.Config{
		Store: db, States: states, Auth: authSvc, Topics: fs.topics, Now: s.clock.Now, Logger: logger,
		MQTT: mqtt.Config{BrokerURL: "tcp://" + b.Addr(), ClientID: "marquee-server-test", Username: serverUser,
			Password: serverPassword, CleanSession: true, MaxReconnectInterval: 200 * time.Millisecond},
	})
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
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := f.Client().WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	fs.fleet = f

	srv, err := admin.NewServer(admin.Config{
		Library:   lib,
		Auth:      authSvc,
		Orgs:      orgs.NewService(db, orgs.Config{Now: s.clock.Now}),
		Playlists: playlists.NewService(db, db, playlists.Config{Now: s.clock.Now}),
		Displays:  s.displays,
		Schedules: schedules.NewService(db, schedules.Config{Now: s.clock.Now}),
		States:    states,
		Changes:   f,
		Commands:  fleetAPI{f},
		Plays:     fleetAPI{f},
		Statuses:  fleetAPI{f},
		Players:   db,
		Now:       s.clock.Now,
		Logger:    logger,
		Version:   "test",
	})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	s.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(s.srv.Close)
	s.login()
	return fs
}

type displayAuth struct{ s *displays.Service }

func (a displayAuth) AuthenticateDisplay(ctx context.Context, id, token string) error {
	_, err := a.s.Authenticate(ctx, id, token)
	return err
}

// fleetAPI is cmd/marquee's adapter of the fleet service to admin's
// interfaces (package main cannot be imported).
type fleetAPI struct{ f *fleet.Service }

func (a fleetAPI) SendCommand(ctx context.Context, displayID, typ string, args map[string]string, userID string) (*admin.Command, error) {
	c, err := a.f.SendCommand(ctx, displayID, typ, args, userID)
	return (*admin.Command)(c), err
}

func (a fleetAPI) ListCommands(ctx context.Context, displayID string, limit int, cursor string) ([]*admin.Command, string, error) {
	cs, next, err := a.f.ListCommands(ctx, displayID, limit, cursor)
	out := make([]*admin.Command, len(cs))
	for i, c := range cs {
		out[i] = (*admin.Command)(c)
	}
	return out, next, err
}

func (a fleetAPI) FindPlays(ctx context.Context, f admin.PlayFilter) ([]marquee.Play, string, error) {
	return a.f.FindPlays(ctx, fleet.PlayFilter(f))
}

func (a fleetAPI) DisplayStatuses(ctx context.Context, ids []string) (map[string]*admin.DisplayStatus, error) {
	sts, err := a.f.DisplayStatuses(ctx, ids)
	out := make(map[string]*admin.DisplayStatus, len(sts))
	for id, st := range sts {
		out[id] = (*admin.DisplayStatus)(st)
	}
	return out, err
}

// connectDisplay connects a player-like MQTT client as display d.
func (fs *fleetStack) connectDisplay(d displayJSON) *mqtt.Client {
	fs.t.Helper()
	return mqtttest.Connect(fs.t, mqtt.Config{BrokerURL: "tcp://" + fs.broker.Addr(), ClientID: d.ID, Username: d.ID,
		Password: d.Token, MaxReconnectInterval: 200 * time.Millisecond, ConnectTimeout: 3 * time.Second})
}

// commandJSON is a command as the API answers it.
type commandJSON struct {
	ID         string            `json:"id"`
	DisplayID  string            `json:"display_id"`
	Type       string            `json:"type"`
	Args       map[string]string `json:"args"`
	IssuedBy   string            `json:"issued_by"`
	IssuedAt   time.Time         `json:"issued_at"`
	Status     string            `json:"status"`
	Error      string            `json:"error"`
	FinishedAt *time.Time        `json:"finished_at"`
}

type commandPage struct {
	Items      []commandJSON `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

func TestSendCommand(t *testing.T) {
	fs := newFleetStack(t)
	d := fs.mustCreateDisplay(display("Lobby"))
	c := fs.connectDisplay(d)
	// The display carries out what it receives and answers.
	received := make(chan marquee.Command, 4)
	err := c.Subscribe(context.Background(), fs.topics.Cmd(d.ID), 1, func(ctx context.Context, m mqtt.Message) {
		var cmd marquee.Command
		if json.Unmarshal(m.Payload, &cmd) != nil {
			return
		}
		received <- cmd
		b, _ := json.Marshal(marquee.CommandResult{Format: 1, ID: cmd.ID, OK: true, FinishedAt: time.Now()})
		_ = c.Publish(ctx, mqtt.Message{Topic: fs.topics.CmdResult(d.ID), Payload: b, QoS: 1})
	})
	if err != nil {
		t.Fatal(err)
	}

	path := "/api/v1/displays/" + d.ID + "/commands"
	var cmd commandJSON
	mustDecodeStrict(t, fs.doJSON(http.MethodPost, path, map[string]any{"type": "reload-state", "args": map[string]string{"why": "test"}}),
		http.StatusAccepted, &cmd)
	if cmd.ID == "" || cmd.DisplayID != d.ID || cmd.Type != "reload-state" || cmd.Args["why"] != "test" || cmd.IssuedBy == "" ||
		(cmd.Status != "sent" && cmd.Status != "ok") {
		t.Fatalf("POST answered %+v", cmd)
	}
	select {
	case got := <-received:
		if got.ID != cmd.ID || got.Type != "reload-state" {
			t.Fatalf("display received %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the display received no command")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var page commandPage
		mustDecodeStrict(t, fs.get(path), http.StatusOK, &page)
		if len(page.Items) != 1 || page.Items[0].ID != cmd.ID {
			t.Fatalf("list = %+v, want the command", page)
		}
		if got := page.Items[0]; got.Status == "ok" {
			if got.FinishedAt == nil || got.Error != "" {
				t.Fatalf("finished command %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("command still %q", page.Items[0].Status)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Newest first; an empty args is {} not null.
	var second commandJSON
	mustDecodeStrict(t, fs.doJSON(http.MethodPost, path, map[string]any{"type": "clear-cache"}), http.StatusAccepted, &second)
	if second.Args == nil {
		t.Error("args is null, want {}")
	}
	var page commandPage
	mustDecodeStrict(t, fs.get(path+"?limit=1"), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != second.ID || page.NextCursor == "" {
		t.Fatalf("first page %+v, want the newest and a cursor", page)
	}
	mustDecodeStrict(t, fs.get(path+"?limit=1&cursor="+page.NextCursor), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != cmd.ID || page.NextCursor != "" {
		t.Fatalf("second page %+v, want the first command and no cursor", page)
	}

	wantError(t, fs.doJSON(http.MethodPost, path, map[string]any{"type": "reboot"}), http.StatusBadRequest, "invalid")
	wantError(t, fs.doJSON(http.MethodPost, path, map[string]any{"type": "reload-state", "extra": 1}), http.StatusBadRequest, "invalid")
	wantError(t, fs.doJSON(http.MethodPost, "/api/v1/displays/dsp_nope/commands", map[string]any{"type": "reload-state"}),
		http.StatusNotFound, "not_found")
	wantError(t, fs.get("/api/v1/displays/dsp_nope/commands"), http.StatusNotFound, "not_found")
	wantError(t, fs.get(path+"?cursor=!!!"), http.StatusBadRequest, "invalid")

	// A display token is no user's: refused on admin routes.
	wantError(t, fs.do(http.MethodGet, path, nil, map[string]string{"Authorization": "Bearer " + d.Token}),
		http.StatusUnauthorized, "unauthorized")
}

func TestSendCommandBrokerDown(t *testing.T) {
	fs := newFleetStack(t)
	d := fs.mustCreateDisplay(display("Lobby"))
	if err := fs.broker.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); fs.fleet.Client().Connected(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still connected")
		}
	}
	var cmd commandJSON
	mustDecodeStrict(t, fs.doJSON(http.MethodPost, "/api/v1/displays/"+d.ID+"/commands", map[string]any{"type": "resync-media"}),
		http.StatusAccepted, &cmd)
	if cmd.Status != "failed" || cmd.Error != "broker unreachable" || cmd.FinishedAt == nil {
		t.Fatalf("command %+v, want failed: broker unreachable", cmd)
	}
}

// Without MQTT wired in, command routes say so.
func TestCommandsUnavailable(t *testing.T) {
	s := newStack(t, stackOptions{}).login()
	d := s.mustCreateDisplay(display("Lobby"))
	wantError(t, s.doJSON(http.MethodPost, "/api/v1/displays/"+d.ID+"/commands", map[string]any{"type": "reload-state"}),
		http.StatusServiceUnavailable, "unavailable")
	wantError(t, s.get("/api/v1/plays"), http.StatusServiceUnavailable, "unavailable")
	wantError(t, s.do(http.MethodGet, "/api/v1/player/state", nil, map[string]string{"Authorization": "Bearer " + d.Token}),
		http.StatusServiceUnavailable, "unavailable")
	// Displays still list, with no status.
	var got displayJSON
	mustDecodeStrict(t, s.get("/api/v1/displays/"+d.ID), http.StatusOK, &got)
	if got.Online || got.LastSeen != nil || got.Current != nil || got.StateRevision != nil {
		t.Fatalf("display %+v, want no status", got)
	}
}
