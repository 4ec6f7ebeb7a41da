package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
)

// The baseline: the same payload fanned out with nothing of ours in the
// way — one raw paho publisher, N bare paho subscribers, each on its own
// display's state topic, through a fresh embedded broker (the same mochi
// build, hook and settings as `marquee serve`'s, on its own loopback port).
// Its latency is what the broker and the clients cost; the gap to the fleet
// fan-out is our publishing pipeline (debounce, rebuilding each state,
// QoS 1 publishes a few at a time) and the players' applying.

// subsArgs starts bare subscribers: client ID and username are the
// display ID, the password the broker's shared secret; each subscribes at
// QoS 1 to its display's state topic.
type subsArgs struct {
	BrokerURL      string
	IDs            []string
	Password       string
	Ramp           float64 // connections per second
	ConnectTimeout time.Duration
}

type subsResult struct {
	Subscribed int
	Failed     int
	FirstError string // of the first subscriber that failed
	ConnectNS  int64
}

// bareSubs are the baseline's subscribers in one process.
type bareSubs struct {
	mu      sync.Mutex
	clients []paho.Client
	ok      []bool         // subscribed
	recv    []atomic.Int64 // first message (Unix ns)
}

// subscribeAttempts is how often a bare subscriber tries to connect and
// subscribe: an overloaded broker may not answer a CONNECT in time.
const subscribeAttempts = 3

// start connects and subscribes every client, paced at a.Ramp, up to 64
// connecting at once, and returns when all are subscribed or have failed
// subscribeAttempts times. Failures are counted, not returned: those
// subscribers count as missing. The error is ctx's.
func (b *bareSubs) start(ctx context.Context, a subsArgs) (subsResult, error) {
	b.recv = make([]atomic.Int64, len(a.IDs))
	b.clients = make([]paho.Client, len(a.IDs))
	b.ok = make([]bool, len(a.IDs))
	gap := time.Duration(float64(time.Second) / max(a.Ramp, 0.001))
	first := time.Now()
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var res subsResult
	for i, id := range a.IDs {
		if wait := time.Until(first.Add(time.Duration(i) * gap)); wait > 0 && !sleepCtx(ctx, wait) {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			for range subscribeAttempts {
				if err = b.subscribe(i, id, a); err == nil || ctx.Err() != nil {
					break
				}
				sleepCtx(ctx, time.Second)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if err != nil {
				res.Failed++
				if res.FirstError == "" {
					res.FirstError = fmt.Sprintf("subscriber %s: %v", id, err)
				}
				return
			}
			b.ok[i] = true
			res.Subscribed++
		})
	}
	wg.Wait()
	res.ConnectNS = int64(time.Since(first))
	return res, ctx.Err()
}

// subscribe connects subscriber i and subscribes it to its state topic.
func (b *bareSubs) subscribe(i int, id string, a subsArgs) error {
	o := paho.NewClientOptions().AddBroker(a.BrokerURL).
		SetClientID(id).SetUsername(id).SetPassword(a.Password).
		SetCleanSession(false). // as players
		SetProtocolVersion(4).
		SetKeepAlive(30 * time.Second).
		SetConnectTimeout(a.ConnectTimeout).
		SetAutoReconnect(false).
		SetDefaultPublishHandler(func(paho.Client, paho.Message) {})
	c := paho.NewClient(o)
	b.mu.Lock()
	b.clients[i] = c
	b.mu.Unlock()
	err := waitPaho(c.Connect(), a.ConnectTimeout)
	if err == nil {
		err = waitPaho(c.Subscribe(mqtt.Topics{}.State(id), 1, func(_ paho.Client, _ paho.Message) {
			b.recv[i].CompareAndSwap(0, time.Now().UnixNano())
		}), a.ConnectTimeout)
	}
	if err != nil && c.IsConnectionOpen() {
		c.Disconnect(0)
	}
	return err
}

// collect waits until every subscribed subscriber received its message,
// or timeout.
func (b *bareSubs) collect(ctx context.Context, timeout time.Duration) (collectResult, error) {
	deadline := time.Now().Add(timeout)
	for {
		waiting := 0
		for i := range b.recv {
			if b.ok[i] && b.recv[i].Load() == 0 {
				waiting++
			}
		}
		if waiting == 0 || time.Now().After(deadline) {
			break
		}
		if !sleepCtx(ctx, 10*time.Millisecond) {
			return collectResult{}, ctx.Err()
		}
	}
	res := collectResult{Applied: make([]int64, len(b.recv))}
	for i := range b.recv {
		res.Applied[i] = b.recv[i].Load()
	}
	return res, nil
}

func (b *bareSubs) close() {
	b.mu.Lock()
	clients := b.clients
	b.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range clients {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if c.IsConnectionOpen() {
				c.Disconnect(0)
			}
		})
	}
	wg.Wait()
}

// waitPaho waits for a paho token at most d (never token.Wait(): it can
// hang for ever) and returns its error.
func waitPaho(tok paho.Token, d time.Duration) error {
	if !tok.WaitTimeout(d) {
		return fmt.Errorf("no answer from the broker within %v", d)
	}
	if err := tok.Error(); err != nil {
		return err
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		for f, code := range st.Result() {
			if code >= 0x80 {
				return fmt.Errorf("subscription to %s refused", f)
			}
		}
	}
	return nil
}

// baselineBroker is a fresh embedded broker with the production settings
// (broker.Config defaults, as `marquee serve` uses them) that admits any
// display presenting its secret.
type baselineBroker struct {
	b              *broker.Broker
	url            string
	secret         string
	serverUser     string
	serverPassword string
}

type secretAuth struct{ secret string }

func (a secretAuth) AuthenticateDisplay(_ context.Context, _, token string) error {
	if token != a.secret {
		return marquee.Errorf(marquee.EUNAUTHORIZED, "wrong token")
	}
	return nil
}

func startBaselineBroker() (*baselineBroker, error) {
	bb := &baselineBroker{secret: randomSecret(), serverUser: broker.DefaultServerUsername, serverPassword: randomSecret()}
	b, err := broker.New(broker.Config{
		TCPAddr:        "127.0.0.1:0",
		Displays:       secretAuth{bb.secret},
		ServerPassword: bb.serverPassword,
	})
	if err != nil {
		return nil, err
	}
	if err := b.Start(); err != nil {
		return nil, err
	}
	bb.b, bb.url = b, "tcp://"+b.Addr()
	return bb, nil
}

func (bb *baselineBroker) close(ctx context.Context) error { return bb.b.Close(ctx) }

// publishAll publishes payload retained at QoS 1 to the state topic of
// every display, from one raw paho client, as fast as paho takes them,
// then waits for every PUBACK. It returns the instant just before the
// first publish and how long until the last PUBACK.
func (bb *baselineBroker) publishAll(ids []string, payload []byte, timeout time.Duration) (t0 time.Time, acked time.Duration, err error) {
	o := paho.NewClientOptions().AddBroker(bb.url).SetClientID("bench-publisher-" + randomHex(4)).
		SetUsername(bb.serverUser).SetPassword(bb.serverPassword).SetCleanSession(true).SetProtocolVersion(4).
		SetKeepAlive(30 * time.Second).SetAutoReconnect(false).SetWriteTimeout(timeout)
	c := paho.NewClient(o)
	if err := waitPaho(c.Connect(), 10*time.Second); err != nil {
		return time.Time{}, 0, fmt.Errorf("baseline publisher: %w", err)
	}
	defer c.Disconnect(250)
	topics := mqtt.Topics{}
	toks := make([]paho.Token, len(ids))
	t0 = time.Now()
	for i, id := range ids {
		toks[i] = c.Publish(topics.State(id), 1, true, payload)
	}
	deadline := time.Now().Add(timeout)
	var errs []error
	for _, tok := range toks {
		if err := waitPaho(tok, max(time.Until(deadline), time.Millisecond)); err != nil {
			errs = append(errs, err)
		}
	}
	acked = time.Since(t0)
	if len(errs) > 0 {
		return t0, acked, fmt.Errorf("baseline: %d of %d publishes failed, first: %w", len(errs), len(ids), errs[0])
	}
	return t0, acked, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
