package fleet

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

// Commands.
//
// SendCommand records a command (pending), publishes it on the display's
// …/cmd topic at QoS 1, not retained, and marks it sent once the broker
// acknowledged it — or failed, "broker unreachable", when the broker could
// not be reached. A display that is offline gets it when it reconnects (its
// session is persistent). The display answers on …/cmd/result; the answer
// sets the command ok or failed, whatever its status was (the display's
// word is the last), but only for a command of the display whose topic it
// came on. Results for unknown commands are dropped and counted.

func init() {
	register(feature{
		name: "commands",
		subscriptions: func(s *Service) []subscription {
			return []subscription{{filter: s.topics.AllDisplays(mqtt.KindCmdResult), qos: 1, handler: s.handleCmdResult}}
		},
	})
}

// Command statuses.
const (
	CommandPending = "pending" // recorded, not yet accepted by the broker
	CommandSent    = "sent"    // accepted by the broker; the display gets it when connected
	CommandOK      = "ok"      // the display carried it out
	CommandFailed  = "failed"  // the display reported a failure, or the broker was unreachable
)

// ErrBrokerUnreachable is the error of a command that could not be
// published.
const ErrBrokerUnreachable = "broker unreachable"

// Command limits.
const (
	maxCommandArgs     = 16
	maxCommandArgKey   = 64
	maxCommandArgValue = 1024
	maxResultPayload   = 16 << 10
	maxResultError     = 1024
	// commandPublishTimeout bounds the wait for the broker's acknowledgement.
	commandPublishTimeout = 5 * time.Second
)

// Command is a command sent to a display, and what became of it.
type Command struct {
	ID        string
	DisplayID string
	Type      string            // marquee.CmdReloadState, CmdResyncMedia or CmdClearCache
	Args      map[string]string // never nil once stored
	IssuedBy  string            // user ID
	IssuedAt  time.Time
	Status    string // CommandPending, CommandSent, CommandOK or CommandFailed
	Error     string // why it failed; "" otherwise
	// FinishedAt is when the server learned the outcome (a result, or the
	// failure to publish); nil while pending or sent.
	FinishedAt *time.Time
}

// CommandUpdate changes the status of command ID of display DisplayID.
type CommandUpdate struct {
	ID, DisplayID string
	// From lists the statuses the update applies to; empty means any.
	From       []string
	Status     string
	Error      string
	FinishedAt *time.Time
}

// CommandStats count commands and their results.
type CommandStats struct {
	Sent           uint64 // published to the broker
	PublishFailed  uint64 // not published: the broker was unreachable
	Results        uint64 // results received that matched a command
	ResultsDropped uint64 // malformed results
	ResultsUnknown uint64 // results for a command that does not exist or is another display's
}

type commandCounters struct {
	sent, publishFailed, results, resultsDropped, resultsUnknown atomic.Uint64
}

func (n *commandCounters) stats() CommandStats {
	return CommandStats{Sent: n.sent.Load(), PublishFailed: n.publishFailed.Load(), Results: n.results.Load(),
		ResultsDropped: n.resultsDropped.Load(), ResultsUnknown: n.resultsUnknown.Load()}
}

// SendCommand records a command of type typ with args for the display,
// issued by user userID, publishes it and returns it as stored: sent, or
// failed with ErrBrokerUnreachable when it could not be published (also a
// success: the command exists). An unknown type or malformed args are
// EINVALID; an unknown display ENOTFOUND.
func (s *Service) SendCommand(ctx context.Context, displayID, typ string, args map[string]string, userID string) (*Command, error) {
	if err := checkCommand(typ, args); err != nil {
		return nil, err
	}
	if args == nil {
		args = map[string]string{}
	}
	c := &Command{
		ID:        marquee.NewID("cmd_"),
		DisplayID: displayID,
		Type:      typ,
		Args:      args,
		IssuedBy:  userID,
		IssuedAt:  s.now().UTC().Truncate(time.Millisecond),
		Status:    CommandPending,
	}
	if err := s.store.CreateCommand(ctx, c); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(marquee.Command{Format: marquee.WireFormat, ID: c.ID, Type: c.Type, Args: c.Args, IssuedAt: c.IssuedAt})
	if err != nil {
		return nil, marquee.WrapError(marquee.EINTERNAL, err, "encode command")
	}
	pctx, cancel := context.WithTimeout(ctx, commandPublishTimeout)
	perr := s.client.Publish(pctx, mqtt.Message{Topic: s.topics.Cmd(displayID), Payload: payload, QoS: 1})
	cancel()

	// The outcome is recorded even if the caller has gone.
	ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	u := CommandUpdate{ID: c.ID, DisplayID: displayID, From: []string{CommandPending}, Status: CommandSent}
	if perr != nil {
		s.commands.publishFailed.Add(1)
		s.logger.Warn("command not published", "command_id", c.ID, "display_id", displayID, "type", typ, "err", perr)
		now := s.now().UTC()
		u.Status, u.Error, u.FinishedAt = CommandFailed, ErrBrokerUnreachable, &now
	} else {
		s.commands.sent.Add(1)
	}
	if _, err := s.store.UpdateCommandStatus(ctx, u); err != nil {
		return nil, err
	}
	// Read back: the display may have answered already.
	return s.store.FindCommandByID(ctx, c.ID)
}

// checkCommand validates a command's type and args.
func checkCommand(typ string, args map[string]string) error {
	switch typ {
	case marquee.CmdReloadState, marquee.CmdResyncMedia, marquee.CmdClearCache:
	default:
		return marquee.Errorf(marquee.EINVALID, "type must be one of %s, %s, %s",
			marquee.CmdReloadState, marquee.CmdResyncMedia, marquee.CmdClearCache)
	}
	if len(args) > maxCommandArgs {
		return marquee.Errorf(marquee.EINVALID, "at most %d args", maxCommandArgs)
	}
	for k, v := range args {
		switch {
		case k == "" || len(k) > maxCommandArgKey:
			return marquee.Errorf(marquee.EINVALID, "arg names must be 1 to %d bytes", maxCommandArgKey)
		case len(v) > maxCommandArgValue:
			return marquee.Errorf(marquee.EINVALID, "arg values must be at most %d bytes", maxCommandArgValue)
		case !utf8.ValidString(k) || !utf8.ValidString(v) || strings.ContainsRune(k+v, 0):
			return marquee.Errorf(marquee.EINVALID, "args must be valid text")
		}
	}
	return nil
}

// ListCommands returns one page of the commands sent to the display,
// newest first, and the cursor of the next page ("" on the last). An
// unknown display is ENOTFOUND; limit and cursor follow the store's rules.
func (s *Service) ListCommands(ctx context.Context, displayID string, limit int, cursor string) ([]*Command, string, error) {
	return s.store.FindCommands(ctx, displayID, limit, cursor)
}

// handleCmdResult is the handler of …/+/cmd/result.
func (s *Service) handleCmdResult(ctx context.Context, m mqtt.Message) {
	n := &s.commands
	u, err := s.parseCmdResult(m)
	if err != nil {
		n.resultsDropped.Add(1)
		s.logger.Warn("command result dropped", "topic", m.Topic, "bytes", len(m.Payload), "reason", err.Error())
		return
	}
	found, err := s.store.UpdateCommandStatus(ctx, *u)
	switch {
	case err != nil:
		// Not counted as unknown: the display re-sends nothing, so log loudly.
		s.logger.Error("record command result", "command_id", u.ID, "display_id", u.DisplayID, "err", err)
	case !found:
		n.resultsUnknown.Add(1)
		s.logger.Warn("result for an unknown command dropped", "command_id", u.ID, "display_id", u.DisplayID)
	default:
		n.results.Add(1)
		s.logger.Info("command finished", "command_id", u.ID, "display_id", u.DisplayID, "status", u.Status, "error", u.Error)
	}
}

// parseCmdResult checks a result and returns the update it makes, or the
// reason it is dropped.
func (s *Service) parseCmdResult(m mqtt.Message) (*CommandUpdate, error) {
	displayID, kind, ok := s.topics.Parse(m.Topic)
	switch {
	case !ok || kind != mqtt.KindCmdResult:
		return nil, marquee.Errorf(marquee.EINVALID, "not a command result topic")
	case len(m.Payload) > maxResultPayload:
		return nil, marquee.Errorf(marquee.ETOOLARGE, "payload over %d bytes", maxResultPayload)
	}
	var r marquee.CommandResult
	if err := json.Unmarshal(m.Payload, &r); err != nil {
		return nil, marquee.Errorf(marquee.EINVALID, "not a JSON command result")
	}
	switch {
	case r.Format != marquee.WireFormat:
		return nil, marquee.Errorf(marquee.EINVALID, "format %d is not %d", r.Format, marquee.WireFormat)
	case r.ID == "" || len(r.ID) > maxCommandArgKey:
		return nil, marquee.Errorf(marquee.EINVALID, "no command ID")
	case strings.ContainsRune(r.ID, 0): // PostgreSQL refuses NUL in text (found by FuzzParseCmdResult)
		return nil, marquee.Errorf(marquee.EINVALID, "command ID is not valid text")
	case !utf8.ValidString(r.Error) || strings.ContainsRune(r.Error, 0):
		return nil, marquee.Errorf(marquee.EINVALID, "error is not valid text")
	}
	now := s.now().UTC()
	u := &CommandUpdate{ID: r.ID, DisplayID: displayID, Status: CommandOK, FinishedAt: &now}
	if !r.OK {
		u.Status, u.Error = CommandFailed, r.Error
		if u.Error == "" {
			u.Error = "the display reported a failure"
		}
		if len(u.Error) > maxResultError {
			u.Error = strings.ToValidUTF8(u.Error[:maxResultError], "")
		}
	}
	return u, nil
}
