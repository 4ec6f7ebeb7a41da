package broker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/mqtttest"
)

const serverPassword = "s3rver-pass"

var (
	displayA = mqtttest.Credentials{ID: "dsp_01aaaaaaaaaaaaaaaaaaaaaaaa", Token: "mqd_token-a"}
	displayB = mqtttest.Credentials{ID: "dsp_01bbbbbbbbbbbbbbbbbbbbbbbb", Token: "mqd_token-b"}
)

// tokens is an Authenticator over a fixed map, standing in for the store.
type tokens map[string]string

func (m tokens) AuthenticateDisplay(_ context.Context, id, token string) error {
	if want, ok := m[id]; !ok || want != token {
		return marquee.Errorf(marquee.EUNAUTHORIZED, "invalid display credentials")
	}
	return nil
}

func testConfig() Config {
	return Config{
		TCPAddr:        "127.0.0.1:0",
		Displays:       tokens{displayA.ID: displayA.Token, displayB.ID: displayB.Token},
		ServerPassword: serverPassword,
		Logger:         mqtttest.Logger(),
	}
}

// startBroker starts b (from New) and closes it when the test ends.
func startBroker(t *testing.T, cfg Config, before ...func(*Broker)) (*Broker, mqtttest.Env) {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, f := range before {
		f(b)
	}
	if err := b.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			var buf bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
			t.Errorf("Close: %v; goroutines:\n%s", err, buf.String())
		}
	})
	return b, mqtttest.Env{
		URL: "tcp://" + b.Addr(), Topics: cfg.Topics,
		ServerUser: DefaultServerUsername, ServerPassword: serverPassword,
		A: displayA, B: displayB,
	}
}

func TestACLSuite(t *testing.T) {
	t.Parallel()
	b, env := startBroker(t, testConfig())
	mqtttest.RunACLSuite(t, env)
	if s := b.Stats(); s.AuthFailures == 0 || s.ACLDenials == 0 || s.Retained < 2 {
		t.Errorf("stats %+v: want auth failures, ACL denials and retained states counted", s)
	}
}

func TestACLSuiteCustomPrefix(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Topics = mqtt.Topics{Prefix: "city/hcm"}
	_, env := startBroker(t, cfg)
	dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
	ctx := context.Background()
	if err := dsp.Subscribe(ctx, cfg.Topics.State(displayA.ID), 1, mqtttest.NewRecorder().Handle); err != nil {
		t.Fatalf("subscribe own state under the custom prefix: %v", err)
	}
	if err := dsp.Subscribe(ctx, mqtt.Topics{}.State(displayA.ID), 1, mqtttest.NewRecorder().Handle); marquee.ErrorCode(err) != marquee.EFORBIDDEN {
		t.Fatalf("subscribe under the default prefix = %v, want forbidden", err)
	}
}

func TestEmbeddedRefusals(t *testing.T) {
	t.Parallel()
	b, env := startBroker(t, testConfig())
	tp := env.Topics
	ctx := context.Background()
	// refused starts every client, then checks that none connected and
	// each was told why.
	refused := func(t *testing.T, cfgs ...mqtt.Config) {
		t.Helper()
		var clients []*mqtt.Client
		for _, cfg := range cfgs {
			clients = append(clients, mqtttest.Start(t, cfg))
		}
		time.Sleep(700 * time.Millisecond)
		for i, c := range clients {
			wctx, cancel := context.WithTimeout(ctx, time.Millisecond)
			err := c.WaitConnected(wctx)
			cancel()
			if err == nil {
				t.Fatalf("%s connected", cfgs[i].ClientID)
			}
			if !strings.Contains(err.Error(), "not Authorized") {
				t.Errorf("%s: error %q does not give the refusal", cfgs[i].ClientID, err)
			}
		}
	}
	t.Run("client ID other than the display ID", func(t *testing.T) {
		cfg := env.DisplayConfig(displayA)
		cfg.ClientID = "player-1"
		refused(t, cfg)
	})
	t.Run("display using another display's client ID", func(t *testing.T) {
		cfg := env.DisplayConfig(displayA)
		cfg.ClientID = displayB.ID
		refused(t, cfg)
	})
	t.Run("display using the server's username", func(t *testing.T) {
		refused(t, mqtt.Config{BrokerURL: env.URL, ClientID: "x", Username: DefaultServerUsername, Password: displayA.Token})
	})
	t.Run("last will on another display's status", func(t *testing.T) {
		cfg := env.DisplayConfig(displayA)
		cfg.Will = &mqtt.Message{Topic: tp.Status(displayB.ID), Payload: []byte(`{"online":false}`), QoS: 1, Retained: true}
		refused(t, cfg)
	})
	t.Run("last will on its own state", func(t *testing.T) {
		cfg := env.DisplayConfig(displayA)
		cfg.Will = &mqtt.Message{Topic: tp.State(displayA.ID), Payload: []byte(`{}`), QoS: 1, Retained: true}
		refused(t, cfg)
	})
	t.Run("display IDs that are not one topic level", func(t *testing.T) {
		var cfgs []mqtt.Config
		for _, id := range []string{"a/b", "+", "#", "$SYS"} {
			cfgs = append(cfgs, mqtt.Config{BrokerURL: env.URL, ClientID: id, Username: id, Password: "x"})
		}
		refused(t, cfgs...)
	})
	t.Run("wildcard and foreign subscriptions get SUBACK 0x80", func(t *testing.T) {
		dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
		before := b.Stats().ACLDenials
		for _, filter := range []string{
			tp.DisplayTree(displayA.ID), tp.AllDisplays(mqtt.KindState), "#", tp.State(displayB.ID),
			"$share/g/" + tp.State(displayA.ID), tp.Status(displayA.ID),
		} {
			err := dsp.Subscribe(ctx, filter, 1, mqtttest.NewRecorder().Handle)
			if marquee.ErrorCode(err) != marquee.EFORBIDDEN {
				t.Errorf("Subscribe(%q) = %v, want forbidden", filter, err)
			}
		}
		if got := b.Stats().ACLDenials - before; got != 6 {
			t.Errorf("ACL denials counted %d, want 6", got)
		}
		if got := dsp.Stats().SubscribeRefusals; got != 6 {
			t.Errorf("client counted %d refusals, want 6", got)
		}
	})
}

// rotatable is an Authenticator whose tokens can change.
type rotatable struct {
	mu sync.Mutex
	m  tokens
}

func (r *rotatable) AuthenticateDisplay(ctx context.Context, id, token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m.AuthenticateDisplay(ctx, id, token)
}

func TestDisconnectDisplayAfterRotation(t *testing.T) {
	t.Parallel()
	auth := &rotatable{m: tokens{displayA.ID: displayA.Token}}
	cfg := testConfig()
	cfg.Displays = auth
	b, env := startBroker(t, cfg)
	dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
	if b.DisconnectDisplay(displayB.ID) {
		t.Error("disconnected a display that was not connected")
	}
	auth.mu.Lock()
	auth.m = tokens{displayA.ID: "mqd_rotated"}
	auth.mu.Unlock()
	if !b.DisconnectDisplay(displayA.ID) {
		t.Fatal("DisconnectDisplay reported the connected display as absent")
	}
	time.Sleep(700 * time.Millisecond)
	if dsp.Connected() {
		t.Fatal("display still connected with a rotated token")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := dsp.WaitConnected(ctx); err == nil || !strings.Contains(err.Error(), "not Authorized") {
		t.Fatalf("reconnect with the old token: %v, want refused", err)
	}
}

// backdate is a test hook that makes every retained message look published
// 25 hours ago, as if the broker's clock had moved on.
type backdate struct{ mochi.HookBase }

func (backdate) ID() string           { return "backdate" }
func (backdate) Provides(b byte) bool { return b == mochi.OnPublish }
func (backdate) OnPublish(_ *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	pk.Created = time.Now().Add(-25 * time.Hour).Unix()
	return pk, nil
}

// TestRetainedStateOutlivesADay proves the retained desired state is still
// delivered when it is older than mochi's 24-hour default expiry. mochi's
// expiry sweep runs every second on the wall clock, which cannot be
// injected; instead a hook backdates the message's creation time by 25 h.
// The control run with mochi's default shows the sweep would delete it.
func TestRetainedStateOutlivesADay(t *testing.T) {
	run := func(t *testing.T, maxExpiry int64) bool {
		b, env := startBroker(t, testConfig(), func(b *Broker) {
			if err := b.srv.AddHook(new(backdate), nil); err != nil {
				t.Fatal(err)
			}
			b.srv.Options.Capabilities.MaximumMessageExpiryInterval = maxExpiry
		})
		srv := mqtttest.Connect(t, env.ServerConfig("server"))
		ctx := context.Background()
		if err := srv.Publish(ctx, mqtt.Message{Topic: env.Topics.State(displayA.ID), Payload: []byte(`{"revision":7}`), QoS: 1, Retained: true}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond) // two expiry sweeps
		t.Logf("retained after the sweeps: %d", b.Stats().Retained)
		dsp := mqtttest.Connect(t, env.DisplayConfig(displayA))
		got := mqtttest.NewRecorder()
		if err := dsp.Subscribe(ctx, env.Topics.State(displayA.ID), 1, got.Handle); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		return len(got.Messages()) == 1
	}
	t.Run("marquee setting", func(t *testing.T) {
		t.Parallel()
		if !run(t, testConfigCapabilities().MaximumMessageExpiryInterval) {
			t.Fatal("retained state older than 24 h was not delivered")
		}
	})
	t.Run("mochi default deletes it (control)", func(t *testing.T) {
		t.Parallel()
		if run(t, mochi.NewDefaultServerCapabilities().MaximumMessageExpiryInterval) {
			t.Fatal("control: mochi's default kept a 25-hour-old retained message; the test proves nothing")
		}
	})
}

func testConfigCapabilities() *mochi.Capabilities {
	cfg := testConfig()
	if err := cfg.setDefaults(); err != nil {
		panic(err)
	}
	return cfg.capabilities()
}

func TestEffectiveSettings(t *testing.T) {
	t.Parallel()
	b, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	o := b.srv.Options
	c := o.Capabilities
	for _, tc := range []struct {
		name      string
		got, want int64
	}{
		{"MaximumMessageExpiryInterval", c.MaximumMessageExpiryInterval, 0},
		{"MaximumSessionExpiryInterval", int64(c.MaximumSessionExpiryInterval), 7 * 24 * 3600},
		{"MaximumClientWritesPending", int64(c.MaximumClientWritesPending), 128},
		{"MaximumPacketSize", int64(c.MaximumPacketSize), 256 << 10},
		{"MaximumInflight", int64(c.MaximumInflight), 8192},
		{"ClientNetReadBufferSize", int64(o.ClientNetReadBufferSize), 2048},
		{"ClientNetWriteBufferSize", int64(o.ClientNetWriteBufferSize), 2048},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	if o.InlineClient {
		t.Errorf("inline client enabled: it bypasses the ACL")
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*Config){
		"no listener":       func(c *Config) { c.TCPAddr = "" },
		"no password":       func(c *Config) { c.ServerPassword = "" },
		"tls without cert":  func(c *Config) { c.TLSAddr = ":0" },
		"negative size":     func(c *Config) { c.MaxPacketSize = -1 },
		"inflight too high": func(c *Config) { c.MaxInflight = 70000 },
	} {
		cfg := testConfig()
		mutate(&cfg)
		if _, err := New(cfg); marquee.ErrorCode(err) != marquee.EINVALID {
			t.Errorf("%s: New = %v, want invalid", name, err)
		}
	}
}

func TestAddressInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := testConfig()
	cfg.WSAddr = "127.0.0.1:0"
	cfg.TCPAddr = busy.Addr().String()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Start()
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start = %v, want EADDRINUSE", err)
	}
	for _, want := range []string{busy.Addr().String(), TCPAddrFlag, "already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatalf("Close after failed Start: %v", err)
	}
}

func TestCloseTwice(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.WSAddr = "127.0.0.1:0"
	b, env := startBroker(t, cfg)
	mqtttest.Connect(t, env.ServerConfig("server"))
	// Connections that never send a CONNECT must not hold up Close.
	for _, addr := range []string{b.Addr(), b.WSAddr()} {
		idle, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
	}
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for i := range 2 {
		if err := b.Close(ctx); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if err := b.Start(); err == nil {
		t.Fatal("Start after Close succeeded")
	}
	unstarted, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := unstarted.Close(ctx); err != nil {
			t.Fatalf("Close before Start: %v", err)
		}
	}
}

// TestMalformedInput sends garbage, a packet over the size limit and a
// non-CONNECT first packet; the broker drops those connections and keeps
// serving everyone else.
// TestCloseWithAStalledReader: a subscriber that stops reading (a wedged
// screen controller) leaves mochi blocked writing to it with the client's
// lock held; Close must still finish promptly.
func TestCloseWithAStalledReader(t *testing.T) {
	t.Parallel()
	b, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	packet := func(kind byte, body []byte) []byte {
		return append([]byte{kind, byte(len(body)&0x7f | 0x80), byte(len(body) >> 7)}, body...) // two-byte remaining length
	}
	connect := append(str("MQTT"), 4, 0xC2, 0, 60) // 3.1.1, username+password+clean, keepalive 60 s
	connect = append(connect, str("stalled-reader")...)
	connect = append(connect, str(DefaultServerUsername)...)
	connect = append(connect, str(serverPassword)...)
	subscribe := append([]byte{0, 1}, str("stall/#")...)
	subscribe = append(subscribe, 0)
	if _, err := conn.Write(append(packet(0x10, connect), packet(0x82, subscribe)...)); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 9) // CONNACK (4) + SUBACK (5)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(conn, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 || ack[4] != 0x90 {
		t.Fatalf("CONNACK+SUBACK = % x, %v", ack, err)
	}
	// From here on the reader reads nothing. Publish until mochi's writes
	// to it block (the socket buffers are full).
	env := mqtttest.Env{URL: "tcp://" + b.Addr(), ServerUser: DefaultServerUsername, ServerPassword: serverPassword}
	pub := mqtttest.Connect(t, env.ServerConfig("stall-publisher"))
	payload := bytes.Repeat([]byte("x"), 64<<10)
	for i := range 200 {
		if err := pub.Publish(context.Background(), mqtt.Message{Topic: fmt.Sprintf("stall/%d", i), Payload: payload}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close with a stalled reader: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v with a stalled reader, want about %v", d, closeGrace)
	}
}

func TestMalformedInput(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxPacketSize = 1024
	b, env := startBroker(t, cfg)
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	got := mqtttest.NewRecorder()
	ctx := context.Background()
	if err := srv.Subscribe(ctx, "#", 1, got.Handle); err != nil {
		t.Fatal(err)
	}
	connect := []byte{0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30, 0, 4, 'r', 'a', 'w', '1'}
	for name, payload := range map[string][]byte{
		"garbage":                 []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"bad remaining length":    {0x10, 0xff, 0xff, 0xff, 0xff, 0xff},
		"publish before connect":  {0x30, 0x05, 0, 1, 'a', 'x', 'y'},
		"huge packet":             append([]byte{0x10, 0xff, 0xff, 0x7f}, make([]byte, 64)...),
		"anonymous then garbage":  append(append([]byte{}, connect...), 0xf0, 0x00, 0x01),
		"truncated connect":       connect[:7],
		"invalid utf-8 client id": {0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30, 0, 4, 0xff, 0xfe, 0xfd, 0xfc},
	} {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write(payload)
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil { // the broker closes it (or answers a CONNACK refusal)
				break
			}
		}
		_ = c.Close()
		t.Logf("%s: connection closed by the broker", name)
	}
	if err := srv.Publish(ctx, mqtt.Message{Topic: "marquee/v1/still/alive", Payload: []byte("ok"), QoS: 1}); err != nil {
		t.Fatalf("broker unusable after malformed input: %v", err)
	}
	got.Wait(t, 5*time.Second, "message after malformed input", mqtttest.OnTopic("marquee/v1/still/alive", "ok"))
	if srv.Stats().Reconnects != 0 {
		t.Errorf("the server's connection was disturbed")
	}
}

func TestWebSocketAndTLSListeners(t *testing.T) {
	t.Parallel()
	cert := selfSigned(t)
	cfg := testConfig()
	cfg.WSAddr = "127.0.0.1:0"
	cfg.TLSAddr = "127.0.0.1:0"
	cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	b, env := startBroker(t, cfg)
	srv := mqtttest.Connect(t, env.ServerConfig("server"))
	got := mqtttest.NewRecorder()
	ctx := context.Background()
	if err := srv.Subscribe(ctx, env.Topics.AllDisplays(mqtt.KindStatus), 1, got.Handle); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	for _, tc := range []struct {
		name, url string
		tls       *tls.Config
		who       mqtttest.Credentials
	}{
		{"ws", "ws://" + b.WSAddr() + "/mqtt", nil, displayA},
		{"tls", "ssl://" + b.TLSAddr(), &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}, displayB},
	} {
		cfg := env.DisplayConfig(tc.who)
		cfg.BrokerURL, cfg.TLSConfig = tc.url, tc.tls
		dsp := mqtttest.Connect(t, cfg)
		if err := dsp.Publish(ctx, mqtt.Message{Topic: env.Topics.Status(tc.who.ID), Payload: []byte(tc.name), QoS: 1}); err != nil {
			t.Fatalf("%s: publish: %v", tc.name, err)
		}
		got.Wait(t, 5*time.Second, tc.name+" status", mqtttest.OnTopic(env.Topics.Status(tc.who.ID), tc.name))
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
