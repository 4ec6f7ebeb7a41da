package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"strings"

	"github.com/marquee-signage/marquee/admin"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/mqtt"
	"github.com/marquee-signage/marquee/mqtt/broker"
)

// displayAuthenticator lets the embedded broker check display logins
// (username = display ID, password = display token) against the store.
type displayAuthenticator struct{ displays *displays.Service }

var _ broker.Authenticator = displayAuthenticator{}

func (a displayAuthenticator) AuthenticateDisplay(ctx context.Context, displayID, token string) error {
	_, err := a.displays.Authenticate(ctx, displayID, token)
	return err
}

// startBroker starts the embedded broker when the configuration asks for
// it, and returns the settings of the server's own MQTT client: the
// external broker's, the embedded one's (over loopback, with a password
// made for this run and never logged), or none (empty BrokerURL) when MQTT
// is off.
func (m *Main) startBroker(ds *displays.Service) (mqtt.Config, error) {
	c := m.Config
	mc := mqtt.Config{
		ClientID:     "marquee-server-" + randomHex(8),
		Username:     c.BrokerUsername,
		CleanSession: true,
		// A broker disconnects a client that sends a packet over its
		// limit (the embedded one's, and deploy/mosquitto's, is 256 KiB):
		// refuse such a state in the client instead, leaving room for
		// the topic and headers. Players still fetch it over HTTP.
		MaxPayload: broker.DefaultMaxPacketSize - 4<<10,
		Logger:     m.Logger,
	}
	switch {
	case c.Broker != "":
		if c.MQTTWSAddr != "" {
			m.Logger.Warn("--mqtt-ws-addr is ignored: --broker uses an external broker, the embedded one is off")
		}
		mc.BrokerURL, mc.Password = c.Broker, c.BrokerPassword
		m.Logger.Info("using an external MQTT broker", "broker", redactURL(c.Broker), "username", c.BrokerUsername)
		return mc, nil
	case c.MQTTAddr == "" && c.MQTTWSAddr == "" && c.MQTTTLSAddr == "":
		m.Logger.Warn("MQTT is off (--mqtt-addr off and no --broker): displays get their state by polling HTTP only")
		return mqtt.Config{}, nil
	}
	password := randomSecret()
	var tlsConf *tls.Config
	if c.MQTTTLSAddr != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return mqtt.Config{}, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	b, err := broker.New(broker.Config{
		TCPAddr:        c.MQTTAddr,
		WSAddr:         c.MQTTWSAddr,
		TLSAddr:        c.MQTTTLSAddr,
		TLSConfig:      tlsConf,
		Topics:         mqtt.Topics{Prefix: c.MQTTPrefix},
		Displays:       displayAuthenticator{ds},
		ServerUsername: c.BrokerUsername,
		ServerPassword: password,
		Logger:         m.Logger,
	})
	if err != nil {
		return mqtt.Config{}, fmt.Errorf("mqtt broker: %w", err)
	}
	if err := b.Start(); err != nil {
		return mqtt.Config{}, withEnvNames(err)
	}
	m.broker = b
	switch {
	case b.Addr() != "":
		mc.BrokerURL = "tcp://" + loopback(b.Addr())
	case b.WSAddr() != "":
		mc.BrokerURL = "ws://" + loopback(b.WSAddr()) + "/mqtt"
	default:
		// Only the TLS listener: the server dials its own broker over
		// loopback, where the certificate's names need not match.
		mc.BrokerURL = "ssl://" + loopback(b.TLSAddr())
		mc.TLSConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // loopback to this process
	}
	mc.Password = password
	return mc, nil
}

// listenerOff maps "off" (which an environment variable can hold, unlike
// an empty value, which means unset) to "", the address of no listener.
func listenerOff(addr string) string {
	if strings.EqualFold(strings.TrimSpace(addr), "off") {
		return ""
	}
	return addr
}

// MQTTAddr returns the embedded broker's bound TCP address (useful with
// ":0"), or "" when it is not running.
func (m *Main) MQTTAddr() string {
	if m.broker == nil {
		return ""
	}
	return m.broker.Addr()
}

// loopback returns the address to dial a listener bound to addr from this
// host: an unspecified host (":1883", "[::]:1883") becomes 127.0.0.1.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// flagEnvs names the environment variable of each broker listener flag.
var flagEnvs = map[string]string{
	broker.TCPAddrFlag: "MARQUEE_MQTT_ADDR",
	broker.WSAddrFlag:  "MARQUEE_MQTT_WS_ADDR",
	broker.TLSAddrFlag: "MARQUEE_MQTT_TLS_ADDR",
}

// withEnvNames adds the environment variable to the flag the broker's
// error names ("choose another address with --mqtt-addr or
// $MARQUEE_MQTT_ADDR"), keeping the error's chain.
func withEnvNames(err error) error {
	msg := err.Error()
	for flag, env := range flagEnvs {
		if i := strings.Index(msg, flag); i >= 0 && !strings.HasPrefix(msg[i+len(flag):], "-") {
			msg = msg[:i] + flag + " or $" + env + msg[i+len(flag):]
			break
		}
	}
	return &hintError{msg: msg + ` (--mqtt-addr off turns the embedded broker off; --broker uses an external one)`, err: err}
}

type hintError struct {
	msg string
	err error
}

func (e *hintError) Error() string { return e.msg }
func (e *hintError) Unwrap() error { return e.err }

// redactURL drops any user:password from a broker URL for logs.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if at := strings.LastIndex(s[i+3:], "@"); at >= 0 {
			return s[:i+3] + s[i+3+at+1:]
		}
	}
	return s
}

// randomSecret returns 32 random bytes, base64url: the embedded broker's
// server password, made anew on every start.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// changeRouter passes the admin API's change notifications on: token
// rotations cut the display's live MQTT connection on the embedded broker
// (the old token would otherwise stay connected until it reconnects);
// everything else goes to fleet, which republishes affected states.
type changeRouter struct{ m *Main }

func (r changeRouter) Notify(kind, id string) {
	if kind == admin.TokenRotated {
		if r.m.broker != nil && r.m.broker.DisconnectDisplay(id) {
			r.m.Logger.Info("disconnected a display whose token was rotated", "display", id)
		}
		return
	}
	r.m.fleet.Notify(kind, id)
}
