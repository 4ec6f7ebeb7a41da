package e2e

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt/broker"
	"github.com/marquee-signage/marquee/mqtt/mqtttest"
)

// brokerServerPassword is the server account's password on the brokers
// the tests own (the embedded broker makes its own, never shown).
const brokerServerPassword = "e2e-broker-server-password"

// displayAccounts is the display accounts of a broker a test owns: the
// test adds each display it creates through the API, as an operator adds
// it to Mosquitto's password file.
type displayAccounts struct {
	mu     sync.Mutex
	tokens map[string]string
}

func newDisplayAccounts() *displayAccounts { return &displayAccounts{tokens: map[string]string{}} }

func (d *displayAccounts) add(id, token string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tokens[id] = token
}

// AuthenticateDisplay implements broker.Authenticator.
func (d *displayAccounts) AuthenticateDisplay(_ context.Context, id, token string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if want, ok := d.tokens[id]; ok && want == token {
		return nil
	}
	return marquee.Errorf(marquee.EUNAUTHORIZED, "unknown display or wrong token")
}

// standaloneBroker is the embedded broker's package run on its own, as an
// external broker the test can stop and start again on the same address.
type standaloneBroker struct {
	t        testing.TB
	addr     string
	accounts *displayAccounts
	maxPkt   int
	logs     *logRecorder

	mu sync.Mutex
	b  *broker.Broker
}

// startStandaloneBroker starts a broker on addr ("" → a free port) with
// the server account and accounts' displays; maxPacket 0 is the default
// (256 KiB). It is closed when the test ends.
func startStandaloneBroker(t testing.TB, addr string, accounts *displayAccounts, maxPacket int) *standaloneBroker {
	t.Helper()
	if addr == "" {
		addr = freeAddr(t)
	}
	s := &standaloneBroker{t: t, addr: addr, accounts: accounts, maxPkt: maxPacket, logs: newLogRecorder()}
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("standalone broker %s, last log lines:\n%s", addr, s.logs.Tail(30))
		}
	})
	return s
}

// URL is the broker's URL.
func (s *standaloneBroker) URL() string { return "tcp://" + s.addr }

// start (re)starts the broker on its address. The previous broker has
// just released the port; binding it again may take a moment on a busy
// machine.
func (s *standaloneBroker) start() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := broker.New(broker.Config{
			TCPAddr:        s.addr,
			Displays:       s.accounts,
			ServerPassword: brokerServerPassword,
			MaxPacketSize:  s.maxPkt,
			Logger:         s.logs.Logger(),
		})
		if err != nil {
			s.t.Fatal(err)
		}
		if err = b.Start(); err == nil {
			s.mu.Lock()
			s.b = b
			s.mu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("start broker on %s: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop closes the broker: every connection drops, retained messages and
// sessions are gone (it keeps them in memory only).
func (s *standaloneBroker) stop() {
	s.mu.Lock()
	b := s.b
	s.b = nil
	s.mu.Unlock()
	if b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		s.t.Errorf("close broker: %v", err)
	}
}

// stats returns the running broker's counters.
func (s *standaloneBroker) stats() broker.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b == nil {
		return broker.Stats{}
	}
	return s.b.Stats()
}

// startMosquitto starts a Mosquitto from deploy/mosquitto with the server
// account, or skips the test when Mosquitto is not installed — unless
// MARQUEE_TEST_MQTT_URL is set, which asks for the Mosquitto variants:
// then its absence fails the test. See the package doc.
func startMosquitto(t testing.TB) *mqtttest.Mosquitto {
	t.Helper()
	for _, bin := range []string{"mosquitto", "mosquitto_passwd"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv(mqtttest.EnvURL) != "" {
				t.Fatalf("%s is set, so the Mosquitto variant must run, but %s is not on PATH (install Debian's mosquitto package): %v", mqtttest.EnvURL, bin, err)
			}
			t.Skipf("%s not on PATH: the Mosquitto variant is skipped (install Debian's mosquitto package; CI sets %s to require it)", bin, mqtttest.EnvURL)
		}
	}
	return mqtttest.StartMosquitto(t, "../deploy/mosquitto", map[string]string{"marquee-server": brokerServerPassword})
}
