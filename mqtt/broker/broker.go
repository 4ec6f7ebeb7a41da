package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultServerUsername         = "marquee-server"
	DefaultMaxPacketSize          = 256 << 10
	DefaultMaxClientWritesPending = 128
	DefaultClientBufferBytes      = 2048
	DefaultSessionExpiry          = 7 * 24 * time.Hour
	DefaultMaxInflight            = 8192
)

// The `marquee serve` flags that set the listener addresses. Start names
// them when an address is taken; cmd/marquee registers its flags under
// these names.
const (
	TCPAddrFlag = "--mqtt-addr"
	WSAddrFlag  = "--mqtt-ws-addr"
	TLSAddrFlag = "--mqtt-tls-addr"
)

// Authenticator checks a display's credentials (package displays in
// production). A nil error means valid; any error refuses the connection.
type Authenticator interface {
	AuthenticateDisplay(ctx context.Context, displayID, token string) error
}

// Config configures the embedded broker. At least one listener address and
// ServerPassword are required; zero values of the other fields select the
// documented defaults.
type Config struct {
	TCPAddr   string      // e.g. ":1883"; "" disables plain TCP
	WSAddr    string      // optional MQTT-over-WebSocket listener, e.g. ":8083" (any path)
	TLSAddr   string      // optional TLS listener, e.g. ":8883"
	TLSConfig *tls.Config // required with TLSAddr
	Topics    mqtt.Topics // the topic table the ACL enforces
	// Displays authenticates display logins (username = display ID,
	// password = display token). nil refuses every display.
	Displays Authenticator
	// ServerUsername (default "marquee-server") and ServerPassword are the
	// server's own account, allowed everything. The password is required.
	ServerUsername, ServerPassword string
	// MaxPacketSize is the largest packet a client may send (0 → 256 KiB);
	// a larger one disconnects it. Publishers must stay below it.
	MaxPacketSize int
	// MaxClientWritesPending is each connection's outbound queue (0 → 128).
	// A message for a client whose queue is full is dropped, even at QoS 1,
	// and counted in Stats().MessagesDropped. It is one setting for every
	// connection, the server's included, which receives the whole fleet's
	// traffic: raise it for large fleets (8 bytes per slot per connection).
	MaxClientWritesPending int
	ClientBufferBytes      int // read and write buffer per connection (0 → 2 KiB)
	// SessionExpiry is how long a disconnected persistent session (a
	// player's subscriptions and queued QoS 1 messages) is kept (0 → 7 days).
	SessionExpiry time.Duration
	// MaxInflight caps unacknowledged QoS 1/2 messages held per client,
	// including those queued for an offline player (0 → 8192); beyond it
	// messages are dropped (Stats().InflightDropped).
	MaxInflight int
	Logger      *slog.Logger // nil: discard
}

// Stats are the broker's counters.
type Stats struct {
	ClientsConnected int64  // connections now open
	MessagesDropped  int64  // mochi: dropped on a full client write queue
	InflightDropped  int64  // mochi: dropped on a full client inflight store
	AuthFailures     uint64 // refused logins
	ACLDenials       uint64 // refused subscriptions, deliveries and publishes
	Retained         int64  // retained messages held, $SYS topics excluded
}

// Broker is the embedded MQTT broker of `marquee serve`: mochi-mqtt with
// per-display authentication and a least-privilege ACL. Create it with
// New, then Start; Close stops it.
type Broker struct {
	cfg  Config
	log  *slog.Logger
	srv  *mochi.Server
	hook *hook

	mu        sync.Mutex
	started   bool
	closed    bool
	listeners []*listener
	tcpAddr   string
	wsAddr    string
	tlsAddr   string
}

// New validates cfg and returns a broker that is not yet listening. Errors
// have code EINVALID.
func New(cfg Config) (*Broker, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	b := &Broker{cfg: cfg, log: cfg.Logger}
	b.srv = mochi.New(&mochi.Options{
		Capabilities:             cfg.capabilities(),
		ClientNetWriteBufferSize: cfg.ClientBufferBytes,
		ClientNetReadBufferSize:  cfg.ClientBufferBytes,
		Logger:                   cfg.Logger.With("component", "mqtt-broker"),
		SysTopicResendInterval:   10,
		InlineClient:             false, // it would bypass the ACL; the server connects as a client
	})
	b.hook = &hook{cfg: &b.cfg, log: b.log}
	if err := b.srv.AddHook(b.hook, nil); err != nil {
		return nil, fmt.Errorf("mqtt broker: add auth hook: %w", err)
	}
	return b, nil
}

func (cfg *Config) setDefaults() error {
	invalid := func(format string, args ...any) error {
		return marquee.Errorf(marquee.EINVALID, "mqtt broker: "+format, args...)
	}
	switch {
	case cfg.TCPAddr == "" && cfg.WSAddr == "" && cfg.TLSAddr == "":
		return invalid("no listener address")
	case cfg.TLSAddr != "" && cfg.TLSConfig == nil:
		return invalid("the TLS listener %s needs a TLS configuration (certificate)", cfg.TLSAddr)
	case cfg.ServerPassword == "":
		return invalid("the server account needs a password")
	case cfg.MaxPacketSize < 0, cfg.MaxClientWritesPending < 0, cfg.ClientBufferBytes < 0, cfg.SessionExpiry < 0, cfg.MaxInflight < 0:
		return invalid("sizes and durations must not be negative")
	case cfg.MaxInflight > 65535:
		return invalid("max inflight %d exceeds 65535", cfg.MaxInflight)
	case cfg.SessionExpiry > 0 && cfg.SessionExpiry < time.Second:
		return invalid("session expiry %v is under a second", cfg.SessionExpiry)
	}
	cfg.ServerUsername = or(cfg.ServerUsername, DefaultServerUsername)
	cfg.MaxPacketSize = or(cfg.MaxPacketSize, DefaultMaxPacketSize)
	cfg.MaxClientWritesPending = or(cfg.MaxClientWritesPending, DefaultMaxClientWritesPending)
	cfg.ClientBufferBytes = or(cfg.ClientBufferBytes, DefaultClientBufferBytes)
	cfg.SessionExpiry = or(cfg.SessionExpiry, DefaultSessionExpiry)
	cfg.MaxInflight = or(cfg.MaxInflight, DefaultMaxInflight)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// capabilities are mochi's defaults with the settings a fleet needs.
func (cfg *Config) capabilities() *mochi.Capabilities {
	c := mochi.NewDefaultServerCapabilities()
	// 0 disables mochi's enforced expiry: with the default (24 h) it deletes
	// every retained message a day after it was published — for v3 clients
	// too — and with it each display's desired state, and drops QoS 1
	// messages queued for an offline player after a day. A v5 client's own
	// Message Expiry Interval is still honoured.
	c.MaximumMessageExpiryInterval = 0
	c.MaximumSessionExpiryInterval = uint32(cfg.SessionExpiry / time.Second) // v3 persistent sessions use this cap
	c.MaximumClientWritesPending = int32(cfg.MaxClientWritesPending)
	c.MaximumPacketSize = uint32(cfg.MaxPacketSize)
	c.MaximumInflight = uint16(cfg.MaxInflight)
	return c
}

// Start binds every configured listener, then starts serving. A taken
// address fails Start with an error that names it and the flag that
// changes it (errors.Is(err, syscall.EADDRINUSE) holds); nothing is left
// listening after a failed Start.
func (b *Broker) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return errors.New("mqtt broker: closed")
	case b.started:
		return errors.New("mqtt broker: already started")
	}
	type spec struct {
		id, proto, addr, flag string
		tls                   *tls.Config
	}
	var specs []spec
	if b.cfg.TCPAddr != "" {
		specs = append(specs, spec{"tcp", "tcp", b.cfg.TCPAddr, TCPAddrFlag, nil})
	}
	if b.cfg.TLSAddr != "" {
		specs = append(specs, spec{"tls", "tls", b.cfg.TLSAddr, TLSAddrFlag, b.cfg.TLSConfig})
	}
	if b.cfg.WSAddr != "" {
		specs = append(specs, spec{"ws", "ws", b.cfg.WSAddr, WSAddrFlag, nil})
	}
	var bound []*listener
	fail := func(err error) error {
		for _, l := range bound {
			_ = l.ln.Close()
		}
		return err
	}
	for _, s := range specs {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fail(listenError(s.proto, s.addr, s.flag, err))
		}
		if s.tls != nil {
			ln = tls.NewListener(ln, s.tls)
		}
		l := &listener{id: s.id, proto: s.proto, ln: ln, log: b.log.With("listener", s.id)}
		if s.id == "ws" {
			l.ws = &http.Server{ReadHeaderTimeout: connectDeadline, ErrorLog: slog.NewLogLogger(b.log.Handler(), slog.LevelDebug)}
		}
		bound = append(bound, l)
	}
	for _, l := range bound {
		if err := b.srv.AddListener(l); err != nil {
			return fail(fmt.Errorf("mqtt broker: add listener %s: %w", l.id, err))
		}
	}
	if err := b.srv.Serve(); err != nil {
		return fail(fmt.Errorf("mqtt broker: serve: %w", err))
	}
	b.started, b.listeners = true, bound
	for _, l := range bound {
		switch l.id {
		case "tcp":
			b.tcpAddr = l.Address()
		case "ws":
			b.wsAddr = l.Address()
		case "tls":
			b.tlsAddr = l.Address()
		}
		b.log.Info("mqtt broker listening", "protocol", l.proto, "addr", l.Address())
	}
	return nil
}

func listenError(proto, addr, flag string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("mqtt broker: cannot listen for MQTT (%s) on %s: the address is already in use — is another MQTT broker (e.g. Mosquitto) or marquee running? Stop it, or choose another address with %s: %w", proto, addr, flag, err)
	}
	return fmt.Errorf("mqtt broker: cannot listen for MQTT (%s) on %s (set with %s): %w", proto, addr, flag, err)
}

// Addr returns the bound TCP address ("" before Start or without TCP),
// useful with ":0".
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tcpAddr
}

// WSAddr returns the bound WebSocket address, or "".
func (b *Broker) WSAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.wsAddr
}

// TLSAddr returns the bound TLS address, or "".
func (b *Broker) TLSAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tlsAddr
}

// DisconnectDisplay closes the connection of the display with this ID (its
// client ID) and reports whether it was connected. Call it after rotating
// or revoking a token: the display must then log in again with the new
// one. Its Last Will is published. (Mosquitto does the same for every
// client whose password changed when it reloads on SIGHUP.)
func (b *Broker) DisconnectDisplay(displayID string) bool {
	cl, ok := b.srv.Clients.Get(displayID)
	if !ok || cl.Closed() || string(cl.Properties.Username) != displayID {
		return false
	}
	_ = b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
	b.log.Info("mqtt display disconnected", "display_id", displayID)
	return true
}

// Stats returns a snapshot of the broker's counters.
func (b *Broker) Stats() Stats {
	info := b.srv.Info
	return Stats{
		ClientsConnected: atomic.LoadInt64(&info.ClientsConnected),
		MessagesDropped:  atomic.LoadInt64(&info.MessagesDropped),
		InflightDropped:  atomic.LoadInt64(&info.InflightDropped),
		AuthFailures:     b.hook.authFailures.Load(),
		ACLDenials:       b.hook.aclDenials.Load(),
		Retained:         b.retained(),
	}
}

// retained counts retained messages outside mochi's own $SYS topics.
func (b *Broker) retained() int64 {
	var n int64
	for topic := range b.srv.Topics.Retained.GetAll() {
		if !strings.HasPrefix(topic, "$") {
			n++
		}
	}
	return n
}

// Close disconnects every client and stops the listeners, waiting until
// ctx ends. Clients that vanish this way have their Last Will published.
// Retained messages and sessions are not persisted. Later calls return nil.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	started := b.started
	b.mu.Unlock()
	if !started {
		return nil
	}
	done := make(chan struct{})
	go func() {
		_ = b.srv.Close() // panics if called twice: guarded by b.closed
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close mqtt broker: %w", ctx.Err())
	}
}
