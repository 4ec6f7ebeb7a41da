package player

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

const (
	// recentCommands is how many command IDs the player remembers to answer
	// a re-delivered command again instead of running it twice.
	recentCommands = 256
	// commandTimeout bounds one command (a resync may download a lot).
	commandTimeout = 10 * time.Minute
	// publishTimeout bounds one QoS 1 publish (waiting for PUBACK).
	publishTimeout = 10 * time.Second
)

// commander runs commands one at a time, in arrival order, off the MQTT
// handler goroutines, and remembers recent IDs and their results.
type commander struct {
	a     *Agent
	queue chan cmdWork

	mu     sync.Mutex
	recent map[string]*cmdEntry
	order  []string // IDs in arrival order, oldest first
}

type cmdEntry struct {
	done   bool
	result marquee.CommandResult
}

type cmdWork struct {
	cmd    marquee.Command
	replay *marquee.CommandResult // non-nil: publish this stored result again
}

func newCommander(a *Agent) *commander {
	return &commander{a: a, queue: make(chan cmdWork, 32), recent: map[string]*cmdEntry{}}
}

// handle is the MQTT handler of the command topic. It never blocks.
func (c *commander) handle(_ context.Context, msg mqtt.Message) {
	a := c.a
	var cmd marquee.Command
	if err := json.Unmarshal(msg.Payload, &cmd); err != nil || cmd.ID == "" {
		a.n.commandsMalformed.Add(1)
		a.log.Warn("command dropped: malformed or without id", "err", err)
		return
	}
	c.mu.Lock()
	e, seen := c.recent[cmd.ID]
	var w cmdWork
	switch {
	case seen && !e.done:
		// Still running: its result will be published when it finishes.
		c.mu.Unlock()
		a.n.commandsDuplicate.Add(1)
		return
	case seen:
		r := e.result
		w = cmdWork{cmd: cmd, replay: &r}
		a.n.commandsDuplicate.Add(1)
	default:
		c.remember(cmd.ID)
		w = cmdWork{cmd: cmd}
	}
	c.mu.Unlock()
	select {
	case c.queue <- w:
	default:
		a.log.Warn("command dropped: queue full", "id", cmd.ID, "type", cmd.Type)
		if w.replay == nil {
			c.mu.Lock()
			delete(c.recent, cmd.ID) // let a re-delivery run it
			c.mu.Unlock()
		}
	}
}

// remember records id as running; c.mu is held.
func (c *commander) remember(id string) {
	c.recent[id] = &cmdEntry{}
	c.order = append(c.order, id)
	for len(c.order) > recentCommands {
		delete(c.recent, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *commander) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-c.queue:
			res := w.replay
			if res == nil {
				r := c.execute(ctx, w.cmd)
				res = &r
				c.mu.Lock()
				if e := c.recent[w.cmd.ID]; e != nil {
					e.done, e.result = true, r
				}
				c.mu.Unlock()
			}
			if err := c.a.publishJSON(ctx, c.a.topics.CmdResult(c.a.cfg.DisplayID), res, false); err != nil {
				// The server re-sends the command; the stored result
				// answers it then.
				c.a.log.Warn("publish command result", "id", res.ID, "err", err)
			}
		}
	}
}

// execute runs one command and returns its result.
func (c *commander) execute(ctx context.Context, cmd marquee.Command) marquee.CommandResult {
	a := c.a
	a.n.commandsRun.Add(1)
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var err error
	switch {
	case cmd.Format != marquee.WireFormat:
		err = fmt.Errorf("command format %d is not supported (this player knows %d)", cmd.Format, marquee.WireFormat)
	case cmd.Type == marquee.CmdReloadState:
		err = a.fetchState(ctx)
	case cmd.Type == marquee.CmdResyncMedia:
		err = a.syncer.do(ctx, syncVerify)
	case cmd.Type == marquee.CmdClearCache:
		err = a.syncer.do(ctx, syncClear)
	default:
		err = fmt.Errorf("unknown command type %q", cmd.Type)
	}
	res := marquee.CommandResult{Format: marquee.WireFormat, ID: cmd.ID, OK: err == nil, FinishedAt: a.cfg.Now().UTC().Truncate(time.Millisecond)}
	if err != nil {
		res.Error = err.Error()
		a.log.Warn("command failed", "id", cmd.ID, "type", cmd.Type, "err", err)
	} else {
		a.log.Info("command done", "id", cmd.ID, "type", cmd.Type)
	}
	return res
}
