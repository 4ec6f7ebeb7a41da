package mqtt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/mqtt/mqtttest"
)

const serverPassword = "s3rver-pass"

var (
	displayA = mqtttest.Credentials{ID: "dsp_01aaaaaaaaaaaaaaaaaaaaaaaa", Token: "mqd_token-a"}
	displayB = mqtttest.Credentials{ID: "dsp_01bbbbbbbbbbbbbbbbbbbbbbbb", Token: "mqd_token-b"}
	tp       mqtt.Topics
)

type tokens map[string]string

func (m tokens) AuthenticateDisplay(_ context.Context, id, token string) error {
	if want, ok := m[id]; !ok || want != token {
		return marquee.Errorf(marquee.EUNAUTHORIZED, "invalid display credentials")
	}
	return nil
}

// newBroker starts an embedded broker on addr ("127.0.0.1:0" for any
// port). The returned stop function closes it; it is also closed when the
// test ends.
func newBroker(t *testing.T, addr string) (*broker.Broker, mqtttest.Env, func()) {
	t.Helper()
	b, err := broker.New(broker.Config{
		TCPAddr:        addr,
		Displays:       tokens{displayA.ID: displayA.Token, displayB.ID: displayB.Token},
		ServerPassword: serverPassword,
		Logger:         mqtttest.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("broker Close: %v", err)
		}
	}
	t.Cleanup(stop)
	return b, mqtttest.Env{
		URL: "tcp://" + b.Addr(), ServerUser: broker.DefaultServerUsername, ServerPassword: serverPassword,
		A: displayA, B: displayB, Reconnect: 200 * time.Millisecond,
	}, stop
}

func publish(t *testing.T, c *mqtt.Client, topic, payload string, retained bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, mqtt.Message{Topic: topic, Payload: []byte(payload), QoS: 1, Retained: retained}); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

func subscribe(t *testing.T, c *mqtt.Client, filter string, h mqtt.Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Subscribe(ctx, filter, 1, h); err != nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
}

func waitConnected(t *testing.T, c *mqtt.Client, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("WaitConnected: %v", err)
	}
}

func TestRetainedStateToLateSubscriber(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	publish(t, srv, tp.State(displayA.ID), `{"revision":3}`, true)
	dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
	got := mqtttest.NewRecorder()
	subscribe(t, dsp, tp.State(displayA.ID), got.Handle)
	if m := got.Wait(t, 5*time.Second, "retained state", mqtttest.OnTopic(tp.State(displayA.ID), `{"revision":3}`)); !m.Retained || m.QoS != 1 {
		t.Errorf("got retained=%v qos=%d, want retained QoS 1", m.Retained, m.QoS)
	}
}

// TestStartWhileBrokerDown starts a player before its broker exists: the
// first connection is retried until the broker comes up.
func TestStartWhileBrokerDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := mqtttest.Env{URL: "tcp://" + addr, A: displayA}
	got := mqtttest.NewRecorder()
	dsp := mqtttest.Start(t, env.DisplayConfig(displayA))
	subscribe(t, dsp, tp.State(displayA.ID), got.Handle) // remembered before connecting
	time.Sleep(500 * time.Millisecond)
	if dsp.Connected() {
		t.Fatal("connected to nothing")
	}
	_, env, _ = newBroker(t, addr)
	waitConnected(t, dsp, 5*time.Second)
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	publish(t, srv, tp.State(displayA.ID), "s1", true)
	got.Wait(t, 5*time.Second, "state after a late broker start", mqtttest.OnTopic(tp.State(displayA.ID), "s1"))
}

// TestResubscribeAfterBrokerRestart stops the broker and starts a new one
// (no sessions, no retained messages) on the same port: the player
// reconnects, subscribes again and keeps receiving.
func TestResubscribeAfterBrokerRestart(t *testing.T) {
	t.Parallel()
	b, env, stop := newBroker(t, "127.0.0.1:0")
	var connects, losses atomic.Int32
	cfg := env.DisplayConfig(displayA)
	cfg.OnConnect = func(context.Context) { connects.Add(1) }
	cfg.OnConnectionLost = func(error) { losses.Add(1) }
	dsp := mqtttest.Connect(t, cfg)
	got := mqtttest.NewRecorder()
	subscribe(t, dsp, tp.State(displayA.ID), got.Handle)
	subscribe(t, dsp, tp.Cmd(displayA.ID), got.Handle)

	stop()
	deadline := time.Now().Add(5 * time.Second)
	for dsp.Connected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := dsp.Publish(context.Background(), mqtt.Message{Topic: tp.Status(displayA.ID), Payload: []byte("x"), QoS: 1}); !errors.Is(err, mqtt.ErrNotConnected) || marquee.ErrorCode(err) != marquee.EUNAVAILABLE {
		t.Fatalf("Publish while the broker is down = %v, want ErrNotConnected (unavailable)", err)
	}

	_, env2, _ := newBroker(t, b.Addr())
	waitConnected(t, dsp, 10*time.Second)
	srv := mqtttest.Connect(t, env2.ServerConfig("server"))
	publish(t, srv, tp.State(displayA.ID), "after-restart", true)
	publish(t, srv, tp.Cmd(displayA.ID), "cmd-after-restart", false)
	got.Wait(t, 5*time.Second, "state after restart", mqtttest.OnTopic(tp.State(displayA.ID), "after-restart"))
	got.Wait(t, 5*time.Second, "command after restart", mqtttest.OnTopic(tp.Cmd(displayA.ID), "cmd-after-restart"))
	if s := dsp.Stats(); s.Reconnects != 1 {
		t.Errorf("Reconnects = %d, want 1", s.Reconnects)
	}
	time.Sleep(50 * time.Millisecond) // OnConnect runs in its own goroutine
	if connects.Load() != 2 || losses.Load() != 1 {
		t.Errorf("OnConnect called %d times and OnConnectionLost %d, want 2 and 1", connects.Load(), losses.Load())
	}
}

// TestReconnectAfterDrop cuts the TCP connection under a server-style
// client (clean session, so the broker forgets its subscriptions): it
// reconnects, subscribes again and keeps receiving.
func TestReconnectAfterDrop(t *testing.T) {
	t.Parallel()
	b, env, _ := newBroker(t, "127.0.0.1:0")
	proxy := mqtttest.NewProxy(t, b.Addr())
	cfg := env.ServerConfig("server-behind-proxy")
	cfg.BrokerURL = proxy.URL()
	srv := mqtttest.Connect(t, cfg)
	got := mqtttest.NewRecorder()
	subscribe(t, srv, tp.AllDisplays(mqtt.KindPlays), got.Handle)
	dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
	publish(t, dsp, tp.Plays(displayA.ID), "batch-1", false)
	got.Wait(t, 5*time.Second, "plays before the drop", mqtttest.OnTopic(tp.Plays(displayA.ID), "batch-1"))

	proxy.Drop()
	time.Sleep(100 * time.Millisecond)
	waitConnected(t, srv, 5*time.Second)
	publish(t, dsp, tp.Plays(displayA.ID), "batch-2", false)
	got.Wait(t, 5*time.Second, "plays after the drop", mqtttest.OnTopic(tp.Plays(displayA.ID), "batch-2"))
	if srv.Stats().Reconnects != 1 {
		t.Errorf("Reconnects = %d, want 1", srv.Stats().Reconnects)
	}
}

// TestBlockedHandler: a handler that blocks holds one worker only; other
// messages are still handled and the connection (keepalive 1 s) survives.
func TestBlockedHandler(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	cfg := env.DisplayConfig(displayA)
	cfg.KeepAlive = 2 * time.Second
	cfg.HandlerWorkers = 2
	dsp := mqtttest.Connect(t, cfg)
	release := make(chan struct{})
	defer close(release)
	var blocked sync.WaitGroup
	blocked.Add(1)
	subscribe(t, dsp, tp.Cmd(displayA.ID), func(ctx context.Context, m mqtt.Message) {
		blocked.Done()
		<-release
	})
	got := mqtttest.NewRecorder()
	subscribe(t, dsp, tp.State(displayA.ID), got.Handle)
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	publish(t, srv, tp.Cmd(displayA.ID), "block", false)
	blocked.Wait()
	for i := range 20 {
		publish(t, srv, tp.State(displayA.ID), string(rune('a'+i)), true)
	}
	got.Wait(t, 5*time.Second, "last state while a handler blocks", mqtttest.OnTopic(tp.State(displayA.ID), "t"))
	time.Sleep(5 * time.Second) // over two keepalive periods with a worker stuck
	if !dsp.Connected() || dsp.Stats().Reconnects != 0 {
		t.Fatalf("connection lost while a handler blocked: connected=%v stats=%+v", dsp.Connected(), dsp.Stats())
	}
}

// TestQueueOverflow: with one blocked worker and a queue of 2, further
// messages are dropped and counted, never blocking the connection.
func TestQueueOverflow(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	cfg := env.DisplayConfig(displayA)
	cfg.HandlerWorkers, cfg.HandlerQueue = 1, 2
	dsp := mqtttest.Connect(t, cfg)
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock()
	var handled atomic.Int32
	subscribe(t, dsp, tp.Cmd(displayA.ID), func(ctx context.Context, m mqtt.Message) {
		<-release
		handled.Add(1)
	})
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	const n = 10
	for i := range n {
		publish(t, srv, tp.Cmd(displayA.ID), string(rune('0'+i)), false)
	}
	deadline := time.Now().Add(5 * time.Second)
	for dsp.Stats().Received < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := dsp.Stats()
	if s.Received != n || s.Dropped < n-3 {
		t.Fatalf("stats %+v: want %d received and at least %d dropped", s, n, n-3)
	}
	if !dsp.Connected() {
		t.Fatal("disconnected by a full queue")
	}
	unblock()
	deadline = time.Now().Add(5 * time.Second)
	for uint64(handled.Load())+s.Dropped < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := uint64(handled.Load()) + dsp.Stats().Dropped; got != n {
		t.Errorf("handled %d + dropped %d = %d, want %d", handled.Load(), dsp.Stats().Dropped, got, n)
	}
}

func TestOversizedPayloadDropped(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	cfg := env.DisplayConfig(displayA)
	cfg.MaxPayload = 100
	dsp := mqtttest.Connect(t, cfg)
	got := mqtttest.NewRecorder()
	subscribe(t, dsp, tp.Cmd(displayA.ID), got.Handle)
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	publish(t, srv, tp.Cmd(displayA.ID), strings.Repeat("x", 101), false)
	publish(t, srv, tp.Cmd(displayA.ID), "small", false)
	got.Wait(t, 5*time.Second, "small message", mqtttest.OnTopic(tp.Cmd(displayA.ID), "small"))
	if s := dsp.Stats(); s.Oversized != 1 || len(got.Messages()) != 1 {
		t.Fatalf("stats %+v, handled %d: want 1 oversized and 1 handled", s, len(got.Messages()))
	}
	err := dsp.Publish(context.Background(), mqtt.Message{Topic: tp.Status(displayA.ID), Payload: bytes.Repeat([]byte("y"), 101), QoS: 1})
	if marquee.ErrorCode(err) != marquee.ETOOLARGE {
		t.Fatalf("Publish of an oversized payload = %v, want too_large", err)
	}
}

// TestMalformedPayloadsAndPanics: binary garbage reaches a handler that
// panics on it; the panic is counted and later messages are handled.
func TestMalformedPayloadsAndPanics(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
	var good atomic.Int32
	subscribe(t, dsp, tp.State(displayA.ID), func(ctx context.Context, m mqtt.Message) {
		var st marquee.DesiredState
		if err := json.Unmarshal(m.Payload, &st); err != nil {
			panic("bad state: " + err.Error())
		}
		good.Add(1)
	})
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	for _, p := range []string{"\xff\xfe\x00garbage", "{", "", `{"format":1}`} {
		publish(t, srv, tp.State(displayA.ID), p, false)
	}
	deadline := time.Now().Add(5 * time.Second)
	for good.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := dsp.Stats(); good.Load() != 1 || s.HandlerPanics != 3 || !dsp.Connected() {
		t.Fatalf("good=%d stats=%+v connected=%v: want 1 good, 3 panics, still connected", good.Load(), s, dsp.Connected())
	}
}

func TestPublishRefusesInvalidInput(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	ctx := context.Background()
	for _, topic := range []string{"", "a/+/b", "a/#", "a\x00b", "\xff", strings.Repeat("x", 70000)} {
		if err := srv.Publish(ctx, mqtt.Message{Topic: topic, QoS: 1}); marquee.ErrorCode(err) != marquee.EINVALID {
			t.Errorf("Publish(%.20q) = %v, want invalid", topic, err)
		}
	}
	if err := srv.Publish(ctx, mqtt.Message{Topic: "a", QoS: 3}); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Errorf("Publish QoS 3 = %v, want invalid", err)
	}
	for _, filter := range []string{"", "a/b#", "a/#/b", "a+/b"} {
		if err := srv.Subscribe(ctx, filter, 1, func(context.Context, mqtt.Message) {}); marquee.ErrorCode(err) != marquee.EINVALID {
			t.Errorf("Subscribe(%q) = %v, want invalid", filter, err)
		}
	}
	// The connection is still fine.
	got := mqtttest.NewRecorder()
	subscribe(t, srv, "marquee/#", got.Handle)
	publish(t, srv, "marquee/ok", "ok", false)
	got.Wait(t, 5*time.Second, "message after refused input", mqtttest.OnTopic("marquee/ok", "ok"))
}

func TestPublishTimeoutBoundedByContext(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := srv.Publish(ctx, mqtt.Message{Topic: "marquee/x", Payload: []byte("x"), QoS: 1})
	if err == nil {
		// The PUBACK may legitimately win the race on loopback.
		t.Log("acknowledged before the cancelled context was noticed")
	} else if !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled context = %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("Publish took %v with a cancelled context", time.Since(start))
	}
}

func TestCloseTwiceAndAfterClose(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	c, err := mqtt.New(env.DisplayConfig(displayA))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err == nil {
		t.Error("second Start succeeded")
	}
	waitConnected(t, c, 5*time.Second)
	for i := range 2 {
		if err := c.Close(ctx); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if c.Connected() {
		t.Error("connected after Close")
	}
	if err := c.Publish(ctx, mqtt.Message{Topic: "a", QoS: 1}); !errors.Is(err, mqtt.ErrClosed) {
		t.Errorf("Publish after Close = %v", err)
	}
	if err := c.Subscribe(ctx, "a", 1, func(context.Context, mqtt.Message) {}); !errors.Is(err, mqtt.ErrClosed) {
		t.Errorf("Subscribe after Close = %v", err)
	}
	if err := c.WaitConnected(ctx); !errors.Is(err, mqtt.ErrClosed) {
		t.Errorf("WaitConnected after Close = %v", err)
	}
	if err := c.Start(ctx); !errors.Is(err, mqtt.ErrClosed) {
		t.Errorf("Start after Close = %v", err)
	}

	unstarted, err := mqtt.New(env.DisplayConfig(displayB))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := unstarted.Close(ctx); err != nil {
			t.Fatalf("Close before Start: %v", err)
		}
	}
}

// TestCloseWaitsForHandlers: Close cancels handler contexts and returns
// once the running handler has returned.
func TestCloseWaitsForHandlers(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	c, err := mqtt.New(env.DisplayConfig(displayA))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, c, 5*time.Second)
	running := make(chan struct{})
	var finished atomic.Bool
	subscribe(t, c, tp.Cmd(displayA.ID), func(ctx context.Context, m mqtt.Message) {
		close(running)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond)
		finished.Store(true)
	})
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	publish(t, srv, tp.Cmd(displayA.ID), "x", false)
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Close returned before the handler finished")
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	valid := mqtt.Config{BrokerURL: "tcp://127.0.0.1:1883", ClientID: "c"}
	if _, err := mqtt.New(valid); err != nil {
		t.Fatalf("New(valid) = %v", err)
	}
	for name, mutate := range map[string]func(*mqtt.Config){
		"no URL":         func(c *mqtt.Config) { c.BrokerURL = "" },
		"no host":        func(c *mqtt.Config) { c.BrokerURL = "tcp://" },
		"bad scheme":     func(c *mqtt.Config) { c.BrokerURL = "http://h:1" },
		"no client ID":   func(c *mqtt.Config) { c.ClientID = "" },
		"1s keepalive":   func(c *mqtt.Config) { c.KeepAlive = time.Second },
		"negative queue": func(c *mqtt.Config) { c.HandlerQueue = -1 },
		"wildcard will":  func(c *mqtt.Config) { c.Will = &mqtt.Message{Topic: "a/#"} },
	} {
		cfg := valid
		mutate(&cfg)
		if _, err := mqtt.New(cfg); marquee.ErrorCode(err) != marquee.EINVALID {
			t.Errorf("%s: New = %v, want invalid", name, err)
		}
	}
}

func TestWaitConnectedReportsRefusal(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	cfg := env.DisplayConfig(displayA)
	cfg.Password = "wrong"
	c := mqtttest.Start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := c.WaitConnected(ctx)
	if !errors.Is(err, mqtt.ErrNotConnected) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not Authorized") {
		t.Fatalf("WaitConnected = %v, want not connected, deadline exceeded and the refusal", err)
	}
}

// TestSharedSubscription: two server replicas share one subscription; each
// message reaches exactly one of them, routed to its handler.
func TestSharedSubscription(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	filter := "$share/ingest/" + tp.AllDisplays(mqtt.KindPlays)
	var r1, r2 = mqtttest.NewRecorder(), mqtttest.NewRecorder()
	subscribe(t, mqtttest.Connect(t, env.ServerConfig("replica-1")), filter, r1.Handle)
	subscribe(t, mqtttest.Connect(t, env.ServerConfig("replica-2")), filter, r2.Handle)
	dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
	const n = 20
	for i := range n {
		publish(t, dsp, tp.Plays(displayA.ID), string(rune('a'+i)), false)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r1.Messages())+len(r2.Messages()) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if got := len(r1.Messages()) + len(r2.Messages()); got != n {
		t.Fatalf("replicas got %d + %d messages, want %d in all", len(r1.Messages()), len(r2.Messages()), n)
	}
}

// TestSeparateQueueNotStarved: the default queue's only worker is blocked
// and its queue overflows under a flood; a subscription on a queue of its
// own still gets every message, and each queue counts its own drops.
func TestSeparateQueueNotStarved(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	cfg := env.ServerConfig("server")
	cfg.HandlerWorkers, cfg.HandlerQueue = 1, 2
	srv := mqtttest.Connect(t, cfg)
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock()
	subscribe(t, srv, tp.AllDisplays(mqtt.KindStatus), func(ctx context.Context, m mqtt.Message) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	plays := mqtttest.NewRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Subscribe(ctx, tp.AllDisplays(mqtt.KindPlays), 1, plays.Handle,
		mqtt.OnQueue(mqtt.Queue{Name: "plays", Workers: 1, Size: 4})); err != nil {
		t.Fatal(err)
	}
	// A queue without a name is the default one: it may be named again.
	if err := srv.Subscribe(ctx, tp.AllDisplays(mqtt.KindCmdResult), 1, func(context.Context, mqtt.Message) {},
		mqtt.OnQueue(mqtt.Queue{})); err != nil {
		t.Fatal(err)
	}

	dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
	const statuses, batches = 50, 10
	for i := range statuses {
		publish(t, dsp, tp.Status(displayA.ID), string(rune('a'+i%26)), false)
		if i%(statuses/batches) == 0 {
			publish(t, dsp, tp.Plays(displayA.ID), string(rune('0'+i/(statuses/batches))), false)
		}
	}
	if got := len(plays.Wait(t, 5*time.Second, "the last plays batch", mqtttest.OnTopic(tp.Plays(displayA.ID), "9")).Payload); got != 1 {
		t.Fatalf("payload of %d bytes", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Received < statuses+batches && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := srv.Stats()
	if len(plays.Messages()) != batches {
		t.Errorf("%d plays batches handled, want %d", len(plays.Messages()), batches)
	}
	def, pq := s.Queues[mqtt.DefaultQueue], s.Queues["plays"]
	if def.Dropped < statuses-3 || pq.Dropped != 0 || s.Dropped != def.Dropped {
		t.Errorf("stats %+v: want at least %d drops on the default queue, none on plays, Dropped the total", s, statuses-3)
	}
	if def.Workers != 1 || def.Size != 2 || pq.Workers != 1 || pq.Size != 4 || pq.Handled != batches {
		t.Errorf("queues %+v", s.Queues)
	}
	if len(s.Queues) != 2 {
		t.Errorf("queues %+v: want default and plays only", s.Queues)
	}
}

// TestQueueMadeAfterStart: a queue first named after the client started
// gets its workers at once.
func TestQueueMadeAfterStart(t *testing.T) {
	t.Parallel()
	_, env, _ := newBroker(t, "127.0.0.1:0")
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	got := mqtttest.NewRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Subscribe(ctx, tp.AllDisplays(mqtt.KindPlays), 1, got.Handle, mqtt.OnQueue(mqtt.Queue{Name: "late"})); err != nil {
		t.Fatal(err)
	}
	dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
	publish(t, dsp, tp.Plays(displayA.ID), "x", false)
	got.Wait(t, 5*time.Second, "the batch", mqtttest.OnTopic(tp.Plays(displayA.ID), "x"))
	if q := srv.Stats().Queues["late"]; q.Workers != mqtt.DefaultHandlerWorkers || q.Size != mqtt.DefaultHandlerQueue {
		t.Errorf("queue %+v: want the default sizes", q)
	}
	if err := srv.Subscribe(ctx, "x/y", 1, got.Handle, mqtt.OnQueue(mqtt.Queue{Name: "bad", Workers: -1})); marquee.ErrorCode(err) != marquee.EINVALID {
		t.Errorf("negative workers: %v, want invalid", err)
	}
}
