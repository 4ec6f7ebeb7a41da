package broker

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// connectDeadline bounds how long a new connection may take to send its
// CONNECT (and finish a TLS handshake). mochi sets no deadline before the
// CONNECT, so without it an idle socket would hold a goroutine for ever;
// once connected, mochi manages deadlines from the keepalive.
const connectDeadline = 10 * time.Second

// listener is a mochi listener over a socket bound by Broker.Start. mochi's
// own listeners bind lazily (the WebSocket one in a goroutine, so a busy
// port is only logged) and its TCP listener stops for good on the first
// Accept error (e.g. EMFILE); this one is bound before anything starts and
// keeps accepting after transient errors.
type listener struct {
	id, proto string
	ln        net.Listener
	ws        *http.Server // nil for TCP and TLS
	log       *slog.Logger
	closed    atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open connections, closed by Close
}

var _ listeners.Listener = (*listener)(nil)

func (l *listener) ID() string                  { return l.id }
func (l *listener) Address() string             { return l.ln.Addr().String() }
func (l *listener) Protocol() string            { return l.proto }
func (l *listener) Init(log *slog.Logger) error { return nil } // bound already

// Serve accepts connections until Close and hands each to mochi.
func (l *listener) Serve(establish listeners.EstablishFn) {
	if l.ws != nil {
		l.ws.Handler = l.wsHandler(establish)
		if err := l.ws.Serve(l.ln); err != nil && !l.closed.Load() {
			l.log.Error("mqtt websocket listener stopped", "err", err)
		}
		return
	}
	var delay time.Duration
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.log.Warn("mqtt accept failed; retrying", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go l.establish(establish, conn)
	}
}

func (l *listener) establish(establish listeners.EstablishFn, conn net.Conn) {
	if !l.track(conn) {
		_ = conn.Close()
		return
	}
	defer l.untrack(conn)
	_ = conn.SetDeadline(time.Now().Add(connectDeadline))
	if err := establish(l.id, conn); err != nil {
		// Refused logins are logged and counted by the auth hook; EOFs
		// and resets are clients going away.
		l.log.Debug("mqtt connection ended", "remote", conn.RemoteAddr().String(), "err", err)
	}
}

// track records an open connection; false once the listener is closed.
func (l *listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return false
	}
	if l.conns == nil {
		l.conns = map[net.Conn]struct{}{}
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *listener) untrack(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
}

// closeGrace bounds how long a client may take to receive its DISCONNECT
// when the broker stops. mochi writes it without a deadline while holding
// the client's lock, so a peer that has stopped reading (a wedged
// controller, a full socket buffer) would otherwise stall Close for ever,
// and with it every other client's goodbye.
const closeGrace = 500 * time.Millisecond

// Close stops accepting and disconnects the listener's clients (mochi
// sends them a DISCONNECT, each write bounded by closeGrace), then closes
// every connection left, such as those that have not sent their CONNECT
// yet: mochi's Close waits for all of them.
func (l *listener) Close(closeClients listeners.CloseFn) {
	if l.closed.CompareAndSwap(false, true) {
		if l.ws != nil {
			_ = l.ws.Close() // hijacked WebSocket conns are not the HTTP server's
		} else {
			_ = l.ln.Close()
		}
	}
	l.deadline(time.Now().Add(closeGrace))
	closeClients(l.id)
	l.closeConns()
}

// deadline sets a read and write deadline on every open connection.
func (l *listener) deadline(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		_ = c.SetDeadline(t)
	}
}

// closeConns closes every open connection.
func (l *listener) closeConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		_ = c.Close()
	}
}

func (l *listener) wsHandler(establish listeners.EstablishFn) http.Handler {
	up := &websocket.Upgrader{
		Subprotocols: []string{"mqtt"},
		// Browsers never attach MQTT credentials by themselves, so a
		// cross-origin page gains nothing it could not do directly.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered with an HTTP error
		}
		defer c.Close()
		l.establish(establish, &wsConn{Conn: c.UnderlyingConn(), c: c})
	})
}

// wsConn is a net.Conn over a WebSocket: MQTT packets travel in binary
// messages; deadlines and addresses are the underlying connection's.
type wsConn struct {
	net.Conn
	c *websocket.Conn
	r io.Reader // current message, nil between messages
}

var errTextFrame = errors.New("mqtt over websocket needs binary messages")

func (ws *wsConn) Read(p []byte) (int, error) {
	for {
		if ws.r == nil {
			op, r, err := ws.c.NextReader()
			if err != nil {
				return 0, err
			}
			if op != websocket.BinaryMessage {
				return 0, errTextFrame
			}
			ws.r = r
		}
		n, err := ws.r.Read(p)
		if errors.Is(err, io.EOF) {
			ws.r = nil
			if n == 0 {
				continue // empty message or end of one: read the next
			}
			err = nil
		}
		return n, err
	}
}

func (ws *wsConn) Write(p []byte) (int, error) {
	if err := ws.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (ws *wsConn) Close() error { return ws.Conn.Close() }
