package fleet_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/fleet"
	"github.com/marquee-signage/marquee/mqtt"
)

// answerCommands makes c, display displayID, carry out every command it
// receives: clear-cache fails with "disk busy", the rest succeed. It
// returns the commands received.
func (e *env) answerCommands(c *mqtt.Client, displayID string) chan marquee.Command {
	e.t.Helper()
	got := make(chan marquee.Command, 16)
	err := c.Subscribe(e.ctx, e.topics.Cmd(displayID), 1, func(ctx context.Context, m mqtt.Message) {
		var cmd marquee.Command
		if err := json.Unmarshal(m.Payload, &cmd); err != nil {
			e.t.Errorf("command payload %q: %v", m.Payload, err)
			return
		}
		got <- cmd
		res := marquee.CommandResult{Format: 1, ID: cmd.ID, OK: cmd.Type != marquee.CmdClearCache, FinishedAt: time.Now()}
		if !res.OK {
			res.Error = "disk busy"
		}
		b, _ := json.Marshal(res)
		if err := c.Publish(ctx, mqtt.Message{Topic: e.topics.CmdResult(displayID), Payload: b, QoS: 1}); err != nil {
			e.t.Errorf("publish result: %v", err)
		}
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// waitCommand waits until the stored command has status want.
func (e *env) waitCommand(id, want string) *fleet.Command {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		c, err := e.db.FindCommandByID(e.ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if c.Status == want {
			return c
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("command %s: status %q after %v, want %q", id, c.Status, waitTimeout, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCommandsRoundTrip(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	e.start()
	dsp, token := e.display("Lobby")
	c := e.connectDisplay(dsp, token, "", nil)
	received := e.answerCommands(c, dsp.ID)

	cmd, err := e.fleet.SendCommand(e.ctx, dsp.ID, marquee.CmdResyncMedia, map[string]string{"why": "test"}, "usr_a")
	if err != nil {
		t.Fatalf("SendCommand: %v", err)
	}
	if cmd.Status != fleet.CommandSent && cmd.Status != fleet.CommandOK {
		t.Fatalf("returned status %q, want sent (or ok already)", cmd.Status)
	}
	select {
	case got := <-received:
		if got.ID != cmd.ID || got.Type != marquee.CmdResyncMedia || got.Args["why"] != "test" || got.Format != 1 ||
			!got.IssuedAt.Equal(cmd.IssuedAt) {
			t.Errorf("display received %+v, want %+v", got, cmd)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the display received no command")
	}
	done := e.waitCommand(cmd.ID, fleet.CommandOK)
	if done.FinishedAt == nil || done.Error != "" || done.IssuedBy != "usr_a" {
		t.Errorf("finished command %+v", done)
	}

	failing, err := e.fleet.SendCommand(e.ctx, dsp.ID, marquee.CmdClearCache, nil, "usr_a")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.waitCommand(failing.ID, fleet.CommandFailed); got.Error != "disk busy" {
		t.Errorf("failed command error %q, want %q", got.Error, "disk busy")
	}

	list, next, err := e.fleet.ListCommands(e.ctx, dsp.ID, 0, "")
	if err != nil || next != "" || len(list) != 2 || list[0].ID != failing.ID || list[1].ID != cmd.ID {
		t.Fatalf("ListCommands = %v, %q, %v; want [clear-cache, resync-media]", list, next, err)
	}
	if st := e.waitStats("2 results", func(s fleet.Stats) bool { return s.Commands.Results == 2 }).Commands; st.Sent != 2 {
		t.Errorf("stats %+v, want 2 sent", st)
	}
}

func TestCommandsInvalid(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	e.start()
	dsp, _ := e.display("Lobby")
	for _, tt := range []struct {
		display, typ string
		args         map[string]string
		code         string
	}{
		{dsp.ID, "reboot", nil, marquee.EINVALID},
		{dsp.ID, "", nil, marquee.EINVALID},
		{dsp.ID, marquee.CmdReloadState, map[string]string{"": "x"}, marquee.EINVALID},
		{"dsp_ghost", marquee.CmdReloadState, nil, marquee.ENOTFOUND},
	} {
		_, err := e.fleet.SendCommand(e.ctx, tt.display, tt.typ, tt.args, "usr_a")
		if got := marquee.ErrorCode(err); got != tt.code {
			t.Errorf("SendCommand(%s, %q) = %v, want %s", tt.display, tt.typ, err, tt.code)
		}
	}
}

// A display may answer only for its own commands; results for commands
// nobody sent are counted and dropped.
func TestCommandResultsChecked(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	e.start()
	a, tokenA := e.display("A")
	b, tokenB := e.display("B")
	e.connectDisplay(a, tokenA, "", nil) // online, but never answers
	cb := e.connectDisplay(b, tokenB, "", nil)
	cmd, err := e.fleet.SendCommand(e.ctx, a.ID, marquee.CmdReloadState, nil, "usr_a")
	if err != nil {
		t.Fatal(err)
	}
	e.waitCommand(cmd.ID, fleet.CommandSent)
	for _, payload := range []string{
		`{"format":1,"id":"` + cmd.ID + `","ok":true}`, // A's command, on B's topic
		`{"format":1,"id":"cmd_nobody","ok":true}`,
		`{"format":1,"ok":true}`,
		`{"format":3,"id":"` + cmd.ID + `","ok":true}`,
		`not json`,
	} {
		e.publish(cb, e.topics.CmdResult(b.ID), []byte(payload), false)
	}
	e.waitStats("results dropped", func(s fleet.Stats) bool {
		return s.Commands.ResultsUnknown == 2 && s.Commands.ResultsDropped == 3
	})
	if got, _ := e.db.FindCommandByID(e.ctx, cmd.ID); got.Status != fleet.CommandSent {
		t.Errorf("A's command is %q after B's answer, want sent", got.Status)
	}
}

func TestCommandBrokerDown(t *testing.T) {
	e := newEnv(t, sqlite, nil)
	e.start()
	dsp, _ := e.display("Lobby")
	if err := e.broker.Close(e.ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitTimeout)
	for e.fleet.Client().Connected() {
		if time.Now().After(deadline) {
			t.Fatal("still connected to a closed broker")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd, err := e.fleet.SendCommand(e.ctx, dsp.ID, marquee.CmdReloadState, nil, "usr_a")
	if err != nil {
		t.Fatalf("SendCommand: %v", err)
	}
	if cmd.Status != fleet.CommandFailed || cmd.Error != fleet.ErrBrokerUnreachable || cmd.FinishedAt == nil {
		t.Fatalf("command %+v, want failed: %s", cmd, fleet.ErrBrokerUnreachable)
	}
	if got := e.waitCommand(cmd.ID, fleet.CommandFailed); got.Error != fleet.ErrBrokerUnreachable {
		t.Errorf("stored error %q", got.Error)
	}
	if n := e.fleet.Stats().Commands.PublishFailed; n != 1 {
		t.Errorf("publish failures = %d, want 1", n)
	}
}
