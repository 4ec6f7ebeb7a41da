// Package mqtttest holds test helpers for MQTT brokers: a conformance suite
// of the accounts and ACL every Marquee broker must enforce (RunACLSuite),
// a real Mosquitto started from deploy/mosquitto (StartMosquitto), a TCP
// proxy that cuts connections abruptly (Proxy), and client helpers. It is
// imported by tests only.
//
// Environment: MARQUEE_TEST_MQTT_URL (tcp://host:port) selects an external
// broker configured like deploy/mosquitto instead of starting one; it then
// needs MARQUEE_TEST_MQTT_SERVER_PASSWORD (and MARQUEE_TEST_MQTT_SERVER_USER
// unless "marquee-server") and MARQUEE_TEST_MQTT_DISPLAYS, two display
// accounts in that broker's password file as "idA:tokenA,idB:tokenB". See
// ExternalEnv.
package mqtttest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marquee-signage/marquee/mqtt"
)

// Environment variables naming an external broker (see the package doc).
const (
	EnvURL            = "MARQUEE_TEST_MQTT_URL"
	EnvServerUser     = "MARQUEE_TEST_MQTT_SERVER_USER"
	EnvServerPassword = "MARQUEE_TEST_MQTT_SERVER_PASSWORD"
	EnvDisplays       = "MARQUEE_TEST_MQTT_DISPLAYS"
)

// Credentials are one display account.
type Credentials struct {
	ID, Token string
}

// Env describes a broker under test and its accounts.
type Env struct {
	URL                        string // tcp://host:port
	Topics                     mqtt.Topics
	ServerUser, ServerPassword string
	A, B                       Credentials // two displays
	// Reconnect is how long clients wait between attempts (short in
	// tests).
	Reconnect time.Duration
}

// ExternalEnv returns the external broker named by MARQUEE_TEST_MQTT_URL,
// or nil when the variable is unset. It fails t when the URL is set but the
// accounts are not.
func ExternalEnv(t testing.TB) *Env {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		return nil
	}
	env := &Env{URL: url, ServerUser: os.Getenv(EnvServerUser), ServerPassword: os.Getenv(EnvServerPassword)}
	if env.ServerUser == "" {
		env.ServerUser = "marquee-server"
	}
	parts := strings.Split(os.Getenv(EnvDisplays), ",")
	if env.ServerPassword == "" || len(parts) != 2 {
		t.Fatalf("%s is set, so %s and %s (\"idA:tokenA,idB:tokenB\") must be too", EnvURL, EnvServerPassword, EnvDisplays)
	}
	var creds []Credentials
	for _, p := range parts {
		id, token, ok := strings.Cut(strings.TrimSpace(p), ":")
		if !ok || id == "" || token == "" {
			t.Fatalf("%s: %q is not id:token", EnvDisplays, p)
		}
		creds = append(creds, Credentials{ID: id, Token: token})
	}
	env.A, env.B = creds[0], creds[1]
	return env
}

// ServerConfig is a client config for the server account.
func (e Env) ServerConfig(clientID string) mqtt.Config {
	return mqtt.Config{
		BrokerURL: e.URL, ClientID: clientID, Username: e.ServerUser, Password: e.ServerPassword,
		CleanSession: true, MaxReconnectInterval: e.reconnect(), ConnectTimeout: 3 * time.Second,
		Logger: Logger(),
	}
}

// DisplayConfig is a player-like client config (persistent session, client
// ID = display ID) for d.
func (e Env) DisplayConfig(d Credentials) mqtt.Config {
	return mqtt.Config{
		BrokerURL: e.URL, ClientID: d.ID, Username: d.ID, Password: d.Token,
		CleanSession: false, MaxReconnectInterval: e.reconnect(), ConnectTimeout: 3 * time.Second,
		Logger: Logger(),
	}
}

func (e Env) reconnect() time.Duration {
	if e.Reconnect > 0 {
		return e.Reconnect
	}
	return 200 * time.Millisecond
}

// Logger returns a logger that writes to stderr when MARQUEE_TEST_MQTT_LOG
// is set, and discards otherwise.
func Logger() *slog.Logger {
	if os.Getenv("MARQUEE_TEST_MQTT_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Start creates and starts a client, closed when the test ends.
func Start(t testing.TB, cfg mqtt.Config) *mqtt.Client {
	t.Helper()
	c, err := mqtt.New(cfg)
	if err != nil {
		t.Fatalf("mqtt.New: %v", err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// Connect starts a client and waits until it is connected.
func Connect(t testing.TB, cfg mqtt.Config) *mqtt.Client {
	t.Helper()
	c := Start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("%s: WaitConnected: %v", cfg.ClientID, err)
	}
	return c
}

// Recorder is a Handler target that keeps every message it is given.
type Recorder struct {
	mu   sync.Mutex
	msgs []mqtt.Message
	more chan struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{more: make(chan struct{})} }

// Handle is an mqtt.Handler.
func (r *Recorder) Handle(_ context.Context, m mqtt.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	close(r.more)
	r.more = make(chan struct{})
}

// Messages returns what was recorded so far.
func (r *Recorder) Messages() []mqtt.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mqtt.Message(nil), r.msgs...)
}

// Wait waits up to d for a message satisfying ok and returns it, failing t
// otherwise.
func (r *Recorder) Wait(t testing.TB, d time.Duration, what string, ok func(mqtt.Message) bool) mqtt.Message {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for _, m := range r.msgs {
			if ok(m) {
				r.mu.Unlock()
				return m
			}
		}
		more := r.more
		r.mu.Unlock()
		select {
		case <-more:
		case <-deadline.C:
			t.Fatalf("no %s within %v; got %d other message(s): %s", what, d, len(r.Messages()), Describe(r.Messages()))
			return mqtt.Message{}
		}
	}
}

// None fails t if any recorded message satisfies bad.
func (r *Recorder) None(t testing.TB, what string, bad func(mqtt.Message) bool) {
	t.Helper()
	for _, m := range r.Messages() {
		if bad(m) {
			t.Errorf("%s: received %s %q", what, m.Topic, m.Payload)
		}
	}
}

// OnTopic matches messages on topic, optionally with payload.
func OnTopic(topic string, payload ...string) func(mqtt.Message) bool {
	return func(m mqtt.Message) bool {
		return m.Topic == topic && (len(payload) == 0 || string(m.Payload) == payload[0])
	}
}

// Describe formats messages for failure output.
func Describe(ms []mqtt.Message) string {
	var b strings.Builder
	for i, m := range ms {
		if i == 8 {
			b.WriteString(" …")
			break
		}
		b.WriteString(" " + m.Topic + "=" + string(m.Payload))
	}
	return b.String()
}
