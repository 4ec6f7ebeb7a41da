package broker

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

// authTimeout bounds one credential check against the store.
const authTimeout = 5 * time.Second

// What a display may do, by topic kind: publish its heartbeat, plays and
// command results; subscribe to its state, commands and play acks. Nothing
// else, no wildcard, nothing of another display. deploy/mosquitto/acl
// grants exactly the same.
var (
	displayWrites = map[string]bool{mqtt.KindStatus: true, mqtt.KindPlays: true, mqtt.KindCmdResult: true}
	displayReads  = map[string]bool{mqtt.KindState: true, mqtt.KindCmd: true, mqtt.KindPlaysAck: true}
)

// hook authenticates logins and enforces the ACL. A display logs in with
// its ID as username and client ID and its token as password; the server
// with its own account, which may do anything.
type hook struct {
	mochi.HookBase
	cfg *Config
	log *slog.Logger

	authFailures, aclDenials atomic.Uint64
}

func (h *hook) ID() string { return "marquee-acl" }

func (h *hook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck || b == mochi.OnPublish
}

// OnConnectAuthenticate accepts the server account with its password, and
// a display whose client ID is its display ID, whose token the store
// accepts, and whose Last Will (if any) targets a topic it may publish to.
// Pinning the client ID stops one display from taking over (kicking off)
// another's or the server's session; checking the Will stops it from
// having the broker publish for it where it may not.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user, pass := string(pk.Connect.Username), pk.Connect.Password
	reason := ""
	switch {
	case user == h.cfg.ServerUsername:
		if !equalSecret(pass, []byte(h.cfg.ServerPassword)) {
			reason = "wrong server password"
		}
	case !validDisplayID(user):
		reason = "username is not a display ID"
	case len(pass) == 0:
		reason = "no token"
	case pk.Connect.ClientIdentifier != user:
		reason = "a display's client ID must be its display ID"
	case pk.Connect.WillFlag && !h.displayMay(user, pk.Connect.WillTopic, displayWrites):
		reason = "Last Will topic not allowed"
	case h.cfg.Displays == nil:
		reason = "display logins are disabled"
	default:
		ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
		err := h.cfg.Displays.AuthenticateDisplay(ctx, user, string(pass))
		cancel()
		if err != nil {
			reason = "invalid display credentials"
			if code := marquee.ErrorCode(err); code != marquee.EUNAUTHORIZED && code != marquee.ENOTFOUND {
				h.log.Error("mqtt login: checking display credentials failed", "display_id", user, "err", err)
			}
		}
	}
	if reason == "" {
		return true
	}
	h.authFailures.Add(1)
	h.log.Info("mqtt login refused", "username", user, "client_id", pk.Connect.ClientIdentifier, "remote", cl.Net.Remote, "reason", reason)
	return false
}

// OnACLCheck decides subscriptions (filter) and deliveries (topic) with
// write false. Publishes (write true) are let through here and decided in
// OnPublish: refusing them here makes mochi disconnect an MQTT 3.1.1
// client, whose persistent session then re-sends the same publish after
// every reconnect — a loop. Every caller has passed authentication.
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	user := string(cl.Properties.Username)
	if write || user == h.cfg.ServerUsername {
		return true
	}
	if h.displayMay(user, topic, displayReads) {
		return true
	}
	h.aclDenials.Add(1)
	h.log.Info("mqtt subscription or delivery refused", "display_id", user, "filter", topic)
	return false
}

// OnPublish drops a display's publish outside its allowance. Like
// Mosquitto, it acknowledges and discards (MQTT 3.1.1 has no negative
// PUBACK); an MQTT 5 client gets "not authorized" in its PUBACK.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	user := string(cl.Properties.Username)
	if cl.Net.Inline || user == h.cfg.ServerUsername || h.displayMay(user, pk.TopicName, displayWrites) {
		return pk, nil
	}
	h.aclDenials.Add(1)
	h.log.Info("mqtt publish refused", "display_id", user, "topic", pk.TopicName)
	if cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos > 0 {
		return pk, packets.ErrNotAuthorized
	}
	return pk, packets.CodeSuccessIgnore
}

// displayMay reports whether topic is exactly one of displayID's own topics
// of an allowed kind. A filter with a wildcard never is.
func (h *hook) displayMay(displayID, topic string, kinds map[string]bool) bool {
	id, kind, ok := h.cfg.Topics.Parse(topic)
	return ok && id == displayID && kinds[kind] && topic == h.cfg.Topics.Display(id, kind)
}

// validDisplayID reports whether s can be a display ID: one topic level.
func validDisplayID(s string) bool {
	return s != "" && len(s) <= 128 && !strings.ContainsAny(s, "/+#$\x00") && mqtt.ValidTopic(s)
}

// equalSecret compares in constant time, lengths included.
func equalSecret(got, want []byte) bool {
	g, w := sha256.Sum256(got), sha256.Sum256(want)
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
