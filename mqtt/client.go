package mqtt

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/marquee-signage/marquee"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultKeepAlive            = 30 * time.Second
	DefaultConnectTimeout       = 10 * time.Second
	DefaultMaxReconnectInterval = 60 * time.Second
	DefaultHandlerWorkers       = 4
	DefaultHandlerQueue         = 1024
	DefaultMaxPayload           = 1 << 20
)

// disconnectQuiesce is how long Close lets paho finish in-flight work.
const disconnectQuiesce = 250 // milliseconds

var (
	// ErrNotConnected is returned (wrapped, code EUNAVAILABLE) by Publish
	// and WaitConnected while the client has no connection to the broker.
	ErrNotConnected = errors.New("not connected to the MQTT broker")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("mqtt client closed")
)

// Message is one MQTT application message, inbound or outbound.
type Message struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retained bool
}

// Handler handles one inbound message. Handlers run on the worker
// goroutines of their subscription's queue (see OnQueue), possibly
// concurrently with each other and out of arrival order, even for one
// topic (use HandlerWorkers: 1, or a queue of one worker, for strict order;
// handlers on different queues keep no order between them). They must be
// idempotent: MQTT's QoS 1 delivers at least once, and every
// (re)subscription re-delivers retained messages. They must not modify
// m.Payload, which other handlers of the same message share. ctx is
// cancelled when Close begins. A panic is recovered and counted.
type Handler func(ctx context.Context, m Message)

// Config configures a Client. BrokerURL and ClientID are required; zero
// values of the other fields select the documented defaults.
type Config struct {
	BrokerURL string // tcp://host:port, ssl://host:port (TLS), ws://host:port/path, wss://…
	// ClientID must be stable and unique per device: two clients with one ID
	// kick each other off in a loop. The embedded broker requires a display
	// to use its display ID.
	ClientID           string
	Username, Password string
	// CleanSession false (players) keeps the session on the broker, so QoS 1
	// messages sent while the device is offline are queued for it; true
	// (the server) starts afresh on every connection.
	CleanSession bool
	// Will is the Last Will the broker publishes when the connection drops
	// without a DISCONNECT. It is not sent on Close: publish the offline
	// status yourself before closing.
	Will *Message
	// KeepAlive is the MQTT keepalive, 2 s or more (0 → 30 s). It is never
	// 0 on the wire (Mosquitto ≥ 2.0.12 refuses that), nor 1 s (mochi's
	// grace period, keepalive × 1.5 in whole seconds, rounds it down to 1 s
	// and drops the connection before paho's ping).
	KeepAlive      time.Duration
	ConnectTimeout time.Duration // dial + CONNACK (0 → 10 s); also bounds paho's internal queueing
	// MaxReconnectInterval caps paho's exponential back-off (0 → 60 s).
	// Every attempt but the very first also waits a random delay of up to
	// half that (growing with failed attempts), so a fleet that lost its
	// broker does not reconnect in lock-step.
	MaxReconnectInterval time.Duration
	TLSConfig            *tls.Config
	// HandlerWorkers are the goroutines running the handlers of the
	// default queue (0 → 4); never paho's router goroutine.
	HandlerWorkers int
	// HandlerQueue bounds messages waiting for a worker of the default
	// queue (0 → 1024). When it is full a message is dropped and counted in
	// Stats().Dropped: the network reader never blocks, so keepalive and
	// other deliveries go on. A subscription made with OnQueue has a queue
	// and workers of its own instead.
	HandlerQueue int
	// MaxPayload is the largest payload handled (0 → 1 MiB); larger
	// inbound payloads are dropped and counted (paho has no inbound limit).
	// Publish refuses larger payloads too: a broker disconnects a client
	// that exceeds its packet limit, so set this below the broker's.
	MaxPayload int
	// OnConnect is called in its own goroutine after every successful
	// (re)connection, once the subscriptions are renewed. Its ctx is
	// cancelled by Close.
	OnConnect func(ctx context.Context)
	// OnConnectionLost is called when an established connection drops.
	OnConnectionLost func(err error)
	Logger           *slog.Logger // nil: discard
}

// Stats are counters since New.
type Stats struct {
	Received uint64 // messages received from the broker
	// Dropped counts deliveries dropped because their handler queue was
	// full (or the client closing), all queues together; Queues has them
	// by queue. A message that matched subscriptions on two queues and was
	// dropped by both counts twice.
	Dropped           uint64
	Oversized         uint64 // dropped because the payload exceeded MaxPayload
	Unrouted          uint64 // matched no subscription (acknowledged and discarded)
	HandlerPanics     uint64 // handler, OnConnect and OnConnectionLost panics recovered
	Reconnects        uint64 // successful connections after the first
	SubscribeRefusals uint64 // subscriptions the broker refused (SUBACK 0x80)
	// Queues are the handler queues by name: DefaultQueue and every queue
	// named by OnQueue.
	Queues map[string]QueueStats
}

// DefaultQueue is the name of the handler queue of subscriptions made
// without OnQueue, sized by Config.HandlerWorkers and Config.HandlerQueue.
const DefaultQueue = "default"

// Queue names and sizes a handler queue of its own (see OnQueue).
type Queue struct {
	Name    string // "" or DefaultQueue: the default queue (the sizes are then ignored)
	Workers int    // goroutines running its handlers (0 → DefaultHandlerWorkers)
	Size    int    // messages waiting for a worker, at most (0 → DefaultHandlerQueue)
}

// QueueStats describe one handler queue.
type QueueStats struct {
	Workers, Size int
	Queued        int    // messages waiting now
	Handled       uint64 // deliveries whose handlers ran
	Dropped       uint64 // deliveries dropped: the queue was full, or the client closing
}

// SubscribeOption adjusts one subscription (Subscribe).
type SubscribeOption func(*subscribeOptions)

type subscribeOptions struct{ queue Queue }

// OnQueue runs the subscription's handler on the named queue, with its own
// workers and bound, so that a flood on other subscriptions can neither
// fill its queue nor hold its workers (and a flood on it cannot starve the
// others). The queue is made by the first subscription that names it, with
// that subscription's sizes; later subscriptions naming it share it.
func OnQueue(q Queue) SubscribeOption {
	return func(o *subscribeOptions) { o.queue = q }
}

type subscription struct {
	qos   byte
	h     Handler
	match string // the filter delivered topics match (without $share/{group}/)
	q     *handlerQueue
}

// handlerQueue is one bounded queue and its workers.
type handlerQueue struct {
	name             string
	workers, size    int
	ch               chan delivery
	running          bool // workers started
	handled, dropped atomic.Uint64
}

type delivery struct {
	m  Message
	hs []Handler
}

// Client is an MQTT 3.1.1 client for the server and the player: it
// reconnects for ever with capped, jittered back-off, renews its
// subscriptions on every connection, and runs handlers on a bounded pool
// so a slow handler never stalls the connection. Create it with New; its
// methods are safe for concurrent use.
type Client struct {
	cfg   Config
	log   *slog.Logger
	cli   paho.Client
	store *resumeStore
	// resumeBase is the store's count when the current connection attempt
	// began; see resumeStore.
	resumeBase atomic.Uint64

	subMu sync.Mutex
	subs  map[string]subscription // filter → subscription

	connMu        sync.Mutex
	connected     bool
	up            chan struct{} // closed once connected; replaced when the connection drops
	down          chan struct{} // closed when the current connection drops
	lastErr       error         // why the last attempt failed or the connection dropped
	everConnected bool

	lifeMu  sync.Mutex // guards started, closed and Adds to bg
	started bool
	closed  bool
	closing chan struct{} // closed when Close begins
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup
	bg      sync.WaitGroup // callbacks and paho calls made on behalf of callers

	qMu     sync.RWMutex // guards queues, the queues' running and qClosed; enqueueing holds it for reading
	queues  map[string]*handlerQueue
	qClosed bool

	received, dropped, oversized, unrouted, panics, reconnects, refusals atomic.Uint64
}

// New validates cfg, applies defaults and returns a client that is not yet
// connected. Errors have code EINVALID.
func New(cfg Config) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:     cfg,
		log:     cfg.Logger.With("broker", redactURL(cfg.BrokerURL), "client_id", cfg.ClientID),
		subs:    map[string]subscription{},
		up:      make(chan struct{}),
		down:    make(chan struct{}),
		closing: make(chan struct{}),
		store:   newResumeStore(),
	}
	close(c.down) // not connected yet
	c.queues = map[string]*handlerQueue{DefaultQueue: {name: DefaultQueue, workers: cfg.HandlerWorkers, size: cfg.HandlerQueue,
		ch: make(chan delivery, cfg.HandlerQueue)}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.cli = paho.NewClient(c.pahoOptions())
	return c, nil
}

func (cfg *Config) setDefaults() error {
	invalid := func(format string, args ...any) error {
		return marquee.Errorf(marquee.EINVALID, "mqtt: "+format, args...)
	}
	u, err := url.Parse(cfg.BrokerURL)
	if err != nil || u.Host == "" {
		return invalid("broker URL %q is not scheme://host:port", cfg.BrokerURL)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return invalid("broker URL scheme %q is not one of tcp, ssl, tls, mqtts, ws, wss", u.Scheme)
	}
	if cfg.ClientID == "" || !validString(cfg.ClientID) {
		return invalid("a client ID is required (stable and unique per device)")
	}
	if cfg.Will != nil && (!ValidTopic(cfg.Will.Topic) || cfg.Will.QoS > 2) {
		return invalid("will topic %q or QoS %d is not valid", cfg.Will.Topic, cfg.Will.QoS)
	}
	for name, d := range map[string]*time.Duration{"keepalive": &cfg.KeepAlive, "connect timeout": &cfg.ConnectTimeout, "max reconnect interval": &cfg.MaxReconnectInterval} {
		if *d < 0 {
			return invalid("%s must not be negative", name)
		}
	}
	for name, n := range map[string]*int{"handler workers": &cfg.HandlerWorkers, "handler queue": &cfg.HandlerQueue, "max payload": &cfg.MaxPayload} {
		if *n < 0 {
			return invalid("%s must not be negative", name)
		}
	}
	cfg.KeepAlive = orDefault(cfg.KeepAlive, DefaultKeepAlive)
	if cfg.KeepAlive < 2*time.Second || cfg.KeepAlive > 65535*time.Second {
		return invalid("keepalive %v is outside 2s..65535s", cfg.KeepAlive)
	}
	cfg.ConnectTimeout = orDefault(cfg.ConnectTimeout, DefaultConnectTimeout)
	cfg.MaxReconnectInterval = orDefault(cfg.MaxReconnectInterval, DefaultMaxReconnectInterval)
	cfg.HandlerWorkers = orDefault(cfg.HandlerWorkers, DefaultHandlerWorkers)
	cfg.HandlerQueue = orDefault(cfg.HandlerQueue, DefaultHandlerQueue)
	cfg.MaxPayload = orDefault(cfg.MaxPayload, DefaultMaxPayload)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (c *Client) pahoOptions() *paho.ClientOptions {
	cfg := c.cfg
	o := paho.NewClientOptions().
		AddBroker(cfg.BrokerURL).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(cfg.CleanSession).
		SetProtocolVersion(4). // 3.1.1 only: no silent second attempt as 3.1
		SetKeepAlive(cfg.KeepAlive).
		SetPingTimeout(min(10*time.Second, cfg.KeepAlive)).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetWriteTimeout(cfg.ConnectTimeout).
		SetDialer(&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).
		SetTLSConfig(cfg.TLSConfig).
		SetAutoReconnect(true).
		SetConnectRetry(true). // the first connection is retried too
		SetConnectRetryInterval(min(time.Second, cfg.MaxReconnectInterval)).
		SetMaxReconnectInterval(cfg.MaxReconnectInterval).
		SetStore(c.store).
		SetResumeSubs(false). // we renew subscriptions ourselves in onConnect
		// The default handler only enqueues and returns, so handlers never
		// run on paho's router goroutine; keeping OrderMatters avoids a
		// goroutine per message and keeps arrival order into the queue.
		SetOrderMatters(true).
		SetDefaultPublishHandler(c.onMessage). // before Connect: every message is acknowledged
		SetOnConnectHandler(c.onConnect).
		SetConnectionLostHandler(c.onConnectionLost).
		SetConnectionNotificationHandler(c.onNotify)
	if cfg.Will != nil {
		o.SetBinaryWill(cfg.Will.Topic, cfg.Will.Payload, cfg.Will.QoS, cfg.Will.Retained)
	}
	return o
}

// Start starts the handler workers and begins connecting in the background;
// it returns at once. Connection attempts, the first included, are retried
// until Close, so a player may start while the broker is down. Handler
// contexts carry ctx's values but not its cancellation: they end with Close.
func (c *Client) Start(ctx context.Context) error {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	switch {
	case c.closed:
		return ErrClosed
	case c.started:
		return errors.New("mqtt: client already started")
	}
	c.started = true
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c.qMu.Lock()
	for _, q := range c.queues {
		c.startWorkers(q)
	}
	c.qMu.Unlock()
	c.cli.Connect() // never fails with ConnectRetry; progress is reported through the handlers
	c.log.Debug("mqtt connecting")
	return nil
}

// WaitConnected blocks until the client is connected and its subscriptions
// are renewed, or ctx ends; the error then names the last connection
// failure (e.g. "not Authorized").
func (c *Client) WaitConnected(ctx context.Context) error {
	for {
		c.connMu.Lock()
		connected, up := c.connected, c.up
		c.connMu.Unlock()
		if connected {
			return nil
		}
		select {
		case <-up:
		case <-c.closing:
			return ErrClosed
		case <-ctx.Done():
			c.connMu.Lock()
			lastErr := c.lastErr
			c.connMu.Unlock()
			if lastErr != nil {
				return marquee.WrapError(marquee.EUNAVAILABLE, fmt.Errorf("%w: %w (last attempt: %w)", ErrNotConnected, ctx.Err(), lastErr), "MQTT broker not reachable")
			}
			return marquee.WrapError(marquee.EUNAVAILABLE, fmt.Errorf("%w: %w", ErrNotConnected, ctx.Err()), "MQTT broker not reachable")
		}
	}
}

// Connected reports whether the client is connected now. The answer may be
// stale by the time it is used.
func (c *Client) Connected() bool {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	return c.connected && c.cli.IsConnectionOpen()
}

// Subscribe registers h for filter and, when connected, subscribes at once,
// waiting for the SUBACK within ctx. A shared subscription
// ("$share/{group}/{filter}", e.g. for several server replicas ingesting
// plays) routes the plain topics it delivers to h. The subscription is remembered and
// renewed on every (re)connection, so it may be made before the client is
// connected (it then returns nil at once). A filter subscribed twice keeps
// the last handler. A subscription the broker refuses is forgotten and
// reported with code EFORBIDDEN. Every message is acknowledged once it is
// queued for its handlers, so anything that must not be lost needs an
// application-level acknowledgement. The handler runs on the default queue
// unless an option (OnQueue) names another.
func (c *Client) Subscribe(ctx context.Context, filter string, qos byte, h Handler, opts ...SubscribeOption) error {
	var o subscribeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if !ValidFilter(filter) || qos > 2 || h == nil || o.queue.Workers < 0 || o.queue.Size < 0 {
		return marquee.Errorf(marquee.EINVALID, "mqtt: subscription to %q (QoS %d) is not valid", filter, qos)
	}
	q, err := c.queue(o.queue)
	if err != nil {
		return err
	}
	c.subMu.Lock()
	c.subs[filter] = subscription{qos: qos, h: h, match: deliveryFilter(filter), q: q}
	c.subMu.Unlock()
	if !c.Connected() {
		return nil
	}
	tok, err := c.call(ctx, func() paho.Token { return c.cli.Subscribe(filter, qos, nil) })
	if err == nil {
		err = waitToken(ctx, tok, nil)
	}
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", filter, err) // still remembered: renewed on reconnect
	}
	if refused := c.refused(tok.(*paho.SubscribeToken)); len(refused) > 0 {
		return marquee.Errorf(marquee.EFORBIDDEN, "mqtt: the broker refused the subscription to %q", filter)
	}
	return nil
}

// Publish sends m. At QoS 1 and 2 it waits for the broker's acknowledgement
// within ctx. It fails at once when the client is not connected, and when
// the connection drops before the acknowledgement: callers that need
// delivery keep their own outbox and retry (the broker may then see the
// message twice). Invalid topics (empty, wildcards) have code EINVALID and
// payloads over MaxPayload code ETOOLARGE; neither reaches the wire.
func (c *Client) Publish(ctx context.Context, m Message) error {
	switch {
	case !ValidTopic(m.Topic) || m.QoS > 2:
		return marquee.Errorf(marquee.EINVALID, "mqtt: cannot publish to %q at QoS %d", m.Topic, m.QoS)
	case len(m.Payload) > c.cfg.MaxPayload:
		return marquee.Errorf(marquee.ETOOLARGE, "mqtt: payload of %d bytes for %s exceeds the %d-byte limit", len(m.Payload), m.Topic, c.cfg.MaxPayload)
	case c.isClosed():
		return ErrClosed
	}
	c.connMu.Lock()
	connected, down := c.connected, c.down
	c.connMu.Unlock()
	if !connected || !c.cli.IsConnectionOpen() {
		return marquee.WrapError(marquee.EUNAVAILABLE, ErrNotConnected, "cannot publish to %s: not connected to the MQTT broker", m.Topic)
	}
	payload := bytes.Clone(m.Payload) // paho keeps it until acknowledged
	if payload == nil {
		payload = []byte{}
	}
	tok, err := c.call(ctx, func() paho.Token { return c.cli.Publish(m.Topic, m.QoS, m.Retained, payload) })
	if err == nil {
		err = waitToken(ctx, tok, down)
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", m.Topic, err)
	}
	return nil
}

// queue returns the handler queue spec names, making it (and starting its
// workers once the client is started) when it is new; ErrClosed once
// closed.
func (c *Client) queue(spec Queue) (*handlerQueue, error) {
	name := spec.Name
	if name == "" {
		name = DefaultQueue
	}
	c.lifeMu.Lock() // held so Start and Close see the queue whole
	defer c.lifeMu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	c.qMu.Lock()
	defer c.qMu.Unlock()
	q := c.queues[name]
	if q == nil {
		q = &handlerQueue{name: name, workers: orDefault(spec.Workers, DefaultHandlerWorkers), size: orDefault(spec.Size, DefaultHandlerQueue)}
		q.ch = make(chan delivery, q.size)
		c.queues[name] = q
	}
	if c.started {
		c.startWorkers(q)
	}
	return q, nil
}

// startWorkers starts q's workers unless they run; lifeMu and qMu held.
func (c *Client) startWorkers(q *handlerQueue) {
	if q.running {
		return
	}
	q.running = true
	for range q.workers {
		c.workers.Add(1)
		go c.work(q)
	}
}

// call runs f (a paho call that may block for up to ConnectTimeout while
// paho queues the packet) on a goroutine owned by the client, so the caller
// waits no longer than ctx.
func (c *Client) call(ctx context.Context, f func() paho.Token) (paho.Token, error) {
	ch := make(chan paho.Token, 1)
	if !c.goBG(func() { ch <- f() }) {
		return nil, ErrClosed
	}
	select {
	case tok := <-ch:
		return tok, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// waitToken waits for tok, ctx or down (the connection dropping). Never
// token.Wait(): it can block for ever.
func waitToken(ctx context.Context, tok paho.Token, down <-chan struct{}) error {
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return marquee.WrapError(marquee.EUNAVAILABLE, err, "MQTT operation failed")
		}
		return nil
	case <-down:
		return marquee.WrapError(marquee.EUNAVAILABLE, ErrNotConnected, "connection to the MQTT broker lost before the acknowledgement")
	case <-ctx.Done():
		return fmt.Errorf("waiting for the broker's acknowledgement: %w", ctx.Err())
	}
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	c.qMu.RLock()
	queues := make(map[string]QueueStats, len(c.queues))
	for name, q := range c.queues {
		queues[name] = QueueStats{Workers: q.workers, Size: q.size, Queued: len(q.ch),
			Handled: q.handled.Load(), Dropped: q.dropped.Load()}
	}
	c.qMu.RUnlock()
	return Stats{
		Queues:            queues,
		Received:          c.received.Load(),
		Dropped:           c.dropped.Load(),
		Oversized:         c.oversized.Load(),
		Unrouted:          c.unrouted.Load(),
		HandlerPanics:     c.panics.Load(),
		Reconnects:        c.reconnects.Load(),
		SubscribeRefusals: c.refusals.Load(),
	}
}

// Close disconnects (waiting up to 250 ms for paho's in-flight work),
// cancels handler contexts, discards messages still queued, and waits for
// running handlers and callbacks until ctx ends. It unsubscribes nothing:
// a persistent session keeps its subscriptions on the broker. The Last Will
// is not published on Close. Later calls return nil.
func (c *Client) Close(ctx context.Context) error {
	c.lifeMu.Lock()
	if c.closed {
		c.lifeMu.Unlock()
		return nil
	}
	c.closed = true
	started := c.started
	close(c.closing)
	c.cancel()
	c.lifeMu.Unlock()

	if started {
		c.cli.Disconnect(disconnectQuiesce)
	}
	c.connMu.Lock()
	if c.connected {
		c.connected = false
		close(c.down)
	}
	c.connMu.Unlock()
	c.qMu.Lock()
	c.qClosed = true
	for _, q := range c.queues {
		close(q.ch)
	}
	c.qMu.Unlock()

	done := make(chan struct{})
	go func() {
		c.workers.Wait()
		c.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
		c.log.Debug("mqtt client closed")
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt close: handlers still running: %w", ctx.Err())
	}
}

func (c *Client) isClosed() bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	return c.closed
}

// goBG runs f on a goroutine that Close waits for; false once closed.
func (c *Client) goBG(f func()) bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.closed {
		return false
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		f()
	}()
	return true
}

// onConnect runs on a paho goroutine after every successful connection: it
// renews the subscriptions, then reports the client connected.
func (c *Client) onConnect(paho.Client) {
	c.waitResumed()
	for attempt := 0; ; attempt++ {
		err := c.resubscribe()
		if err == nil {
			break
		}
		if !c.cli.IsConnectionOpen() || c.isClosed() {
			c.log.Warn("mqtt: renewing subscriptions failed; retrying on the next connection", "err", err)
			return
		}
		c.log.Warn("mqtt: renewing subscriptions failed; retrying", "err", err)
		t := time.NewTimer(min(time.Second<<min(attempt, 16), c.cfg.MaxReconnectInterval))
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
			return
		}
	}
	c.connMu.Lock()
	if !c.cli.IsConnectionOpen() || c.connected {
		c.connMu.Unlock()
		return
	}
	c.connected = true
	close(c.up)
	c.down = make(chan struct{})
	first := !c.everConnected
	c.everConnected, c.lastErr = true, nil
	c.connMu.Unlock()

	if !first {
		c.reconnects.Add(1)
	}
	c.log.Info("mqtt connected", "reconnect", !first)
	if f := c.cfg.OnConnect; f != nil {
		c.goBG(func() {
			defer c.recoverCallback("OnConnect")
			f(c.ctx)
		})
	}
}

// waitResumed waits until paho has taken stock of its store after this
// connection (see resumeStore), at most ConnectTimeout.
func (c *Client) waitResumed() {
	base := c.resumeBase.Load()
	t := time.NewTimer(c.cfg.ConnectTimeout)
	defer t.Stop()
	for {
		n, moved := c.store.state()
		if n > base {
			return
		}
		select {
		case <-moved:
		case <-t.C:
			c.log.Warn("mqtt: paho did not resume its session in time; going on")
			return
		case <-c.closing:
			return
		}
	}
}

// resubscribe sends one SUBSCRIBE with every remembered filter and forgets
// those the broker refuses.
func (c *Client) resubscribe() error {
	c.subMu.Lock()
	filters := make(map[string]byte, len(c.subs))
	for f, s := range c.subs {
		filters[f] = s.qos
	}
	c.subMu.Unlock()
	if len(filters) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.ConnectTimeout)
	defer cancel()
	tok := c.cli.SubscribeMultiple(filters, nil)
	if err := waitToken(ctx, tok, nil); err != nil {
		return err
	}
	c.refused(tok.(*paho.SubscribeToken))
	return nil
}

// refused forgets and logs the filters tok's SUBACK refused.
func (c *Client) refused(tok *paho.SubscribeToken) []string {
	var out []string
	for filter, code := range tok.Result() {
		if code < 0x80 {
			continue
		}
		out = append(out, filter)
		c.refusals.Add(1)
		c.subMu.Lock()
		delete(c.subs, filter)
		c.subMu.Unlock()
		c.log.Error("mqtt: the broker refused a subscription (not authorized?); it is forgotten", "filter", filter)
	}
	return out
}

func (c *Client) onConnectionLost(_ paho.Client, err error) {
	c.connMu.Lock()
	if c.connected {
		c.connected = false
		close(c.down)
		c.up = make(chan struct{})
	}
	c.lastErr = err
	c.connMu.Unlock()
	c.log.Warn("mqtt connection lost; reconnecting", "err", err)
	if f := c.cfg.OnConnectionLost; f != nil {
		defer c.recoverCallback("OnConnectionLost")
		f(err)
	}
}

// onNotify records why attempts fail and delays every attempt but the
// first by a random jitter, so devices that lost one broker together do not
// come back together. It runs synchronously on paho's connect goroutine.
func (c *Client) onNotify(_ paho.Client, n paho.ConnectionNotification) {
	switch n := n.(type) {
	case paho.ConnectionNotificationConnecting:
		base, _ := c.store.state()
		c.resumeBase.Store(base)
		if n.IsReconnect || n.Attempt > 0 {
			c.sleepJitter(n.Attempt)
		}
	case paho.ConnectionNotificationFailed:
		c.connMu.Lock()
		c.lastErr = n.Reason
		c.connMu.Unlock()
		c.log.Warn("mqtt connection attempt failed", "err", n.Reason)
	}
}

func (c *Client) sleepJitter(attempt int) {
	window := min(c.cfg.MaxReconnectInterval/2, time.Second<<min(attempt, 16))
	if window <= 0 {
		return
	}
	t := time.NewTimer(rand.N(window))
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.closing:
	}
}

// onMessage is paho's default handler for every inbound message. It runs
// on paho's router goroutine, so it only checks, routes and enqueues: one
// delivery per handler queue its matching subscriptions use.
func (c *Client) onMessage(_ paho.Client, pm paho.Message) {
	c.received.Add(1)
	if n := len(pm.Payload()); n > c.cfg.MaxPayload {
		c.oversized.Add(1)
		c.log.Warn("mqtt: dropped an oversized message", "topic", pm.Topic(), "bytes", n, "limit", c.cfg.MaxPayload)
		return
	}
	m := Message{Topic: pm.Topic(), Payload: pm.Payload(), QoS: pm.Qos(), Retained: pm.Retained()}
	type route struct {
		q  *handlerQueue
		hs []Handler
	}
	var routes []route // almost always one
	c.subMu.Lock()
	for _, s := range c.subs {
		if !MatchFilter(s.match, m.Topic) {
			continue
		}
		i := 0
		for i < len(routes) && routes[i].q != s.q {
			i++
		}
		if i == len(routes) {
			routes = append(routes, route{q: s.q})
		}
		routes[i].hs = append(routes[i].hs, s.h)
	}
	c.subMu.Unlock()
	if len(routes) == 0 {
		c.unrouted.Add(1)
		c.log.Debug("mqtt: message matched no subscription", "topic", m.Topic)
		return
	}
	c.qMu.RLock()
	defer c.qMu.RUnlock()
	for _, r := range routes {
		if !c.qClosed {
			select {
			case r.q.ch <- delivery{m: m, hs: r.hs}:
				continue
			default:
			}
		}
		c.dropped.Add(1)
		// Log the 1st, 2nd, 4th, 8th… drop of a queue: visible, never a flood.
		if n := r.q.dropped.Add(1); n&(n-1) == 0 {
			c.log.Warn("mqtt: handler queue full; message dropped", "topic", m.Topic, "queue", r.q.name,
				"dropped_total", n, "size", r.q.size)
		}
	}
}

func (c *Client) work(q *handlerQueue) {
	defer c.workers.Done()
	for d := range q.ch {
		if c.ctx.Err() != nil {
			continue // closing: discard what is still queued
		}
		for _, h := range d.hs {
			c.handle(h, d.m)
		}
		q.handled.Add(1)
	}
}

func (c *Client) handle(h Handler, m Message) {
	defer func() {
		if r := recover(); r != nil {
			c.panics.Add(1)
			c.log.Error("mqtt: handler panicked", "topic", m.Topic, "panic", r)
		}
	}()
	h(c.ctx, m)
}

func (c *Client) recoverCallback(name string) {
	if r := recover(); r != nil {
		c.panics.Add(1)
		c.log.Error("mqtt: callback panicked", "callback", name, "panic", r)
	}
}

// redactURL drops any user:password from a broker URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	return u.String()
}
