package mqtt

import "strings"

// DefaultPrefix is the topic prefix of protocol version 1.
const DefaultPrefix = "marquee/v1"

// Topics is the one topic table: nothing else builds or parses a topic
// string. The zero value uses DefaultPrefix.
//
//	{prefix}/displays/{id}/state       server → player  QoS 1, retained  desired state
//	{prefix}/displays/{id}/cmd         server → player  QoS 1            command
//	{prefix}/displays/{id}/cmd/result  player → server  QoS 1            command result
//	{prefix}/displays/{id}/status      player → server  QoS 1, retained  heartbeat; Last Will = offline
//	{prefix}/displays/{id}/plays       player → server  QoS 1            batch of plays
//	{prefix}/displays/{id}/plays/ack   server → player  QoS 1            plays stored up to a sequence
type Topics struct {
	Prefix string
}

// Kinds of display topics.
const (
	KindState     = "state"
	KindCmd       = "cmd"
	KindCmdResult = "cmd/result"
	KindStatus    = "status"
	KindPlays     = "plays"
	KindPlaysAck  = "plays/ack"
)

func (t Topics) prefix() string {
	if t.Prefix == "" {
		return DefaultPrefix
	}
	return strings.TrimSuffix(t.Prefix, "/")
}

// Display returns the topic of the given kind for one display.
func (t Topics) Display(displayID, kind string) string {
	return t.prefix() + "/displays/" + displayID + "/" + kind
}

// State is the retained desired-state topic of a display.
func (t Topics) State(id string) string { return t.Display(id, KindState) }

// Cmd is the command topic of a display.
func (t Topics) Cmd(id string) string { return t.Display(id, KindCmd) }

// CmdResult is the command-result topic of a display.
func (t Topics) CmdResult(id string) string { return t.Display(id, KindCmdResult) }

// Status is the retained heartbeat topic of a display (and its Last Will).
func (t Topics) Status(id string) string { return t.Display(id, KindStatus) }

// Plays is the topic on which a display uploads plays.
func (t Topics) Plays(id string) string { return t.Display(id, KindPlays) }

// PlaysAck is the topic on which the server acknowledges stored plays.
func (t Topics) PlaysAck(id string) string { return t.Display(id, KindPlaysAck) }

// DisplayTree is the filter of everything under one display: what its ACL
// allows it to touch.
func (t Topics) DisplayTree(id string) string { return t.prefix() + "/displays/" + id + "/#" }

// AllDisplays is a subscription filter for one kind across every display,
// e.g. AllDisplays(KindPlays) = "marquee/v1/displays/+/plays".
func (t Topics) AllDisplays(kind string) string { return t.prefix() + "/displays/+/" + kind }

// Parse splits a display topic into the display ID and kind. ok is false
// for a topic outside the table (wrong prefix, unknown kind, empty or
// wildcard ID).
func (t Topics) Parse(topic string) (displayID, kind string, ok bool) {
	rest, found := strings.CutPrefix(topic, t.prefix()+"/displays/")
	if !found {
		return "", "", false
	}
	id, kind, found := strings.Cut(rest, "/")
	if !found || id == "" || strings.ContainsAny(id, "+#") {
		return "", "", false
	}
	switch kind {
	case KindState, KindCmd, KindCmdResult, KindStatus, KindPlays, KindPlaysAck:
		return id, kind, true
	}
	return "", "", false
}
