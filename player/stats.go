package player

import (
	"errors"
	"sync/atomic"
)

// Stats are the agent's counters since NewAgent, for tests, logs and
// diagnostics.
type Stats struct {
	Connected     bool  // to the broker, now
	StateRevision int64 // applied, 0 before the first

	StatesApplied              uint64
	StatesStale                uint64 // revision not newer than the applied one (also duplicates over MQTT and HTTP)
	StatesMalformed            uint64 // not JSON, or over 1 MiB
	StatesUnknownFormat        uint64 // format missing or newer than this build knows
	StatesInvalid              uint64 // wrong display, Validate or scheduler.Compile failed
	StatePersistErrors         uint64 // applied, but state.json could not be written
	StatePolls, StatePollFails uint64 // HTTP fetches (200 or 304) and failures

	ItemsShown   uint64 // Show calls that succeeded
	MissingSlots uint64 // slots left black because their file was not cached
	OutputErrors uint64 // Show or Blank failed

	PlaysJournaled uint64
	JournalPending int    // plays in the journal not yet acknowledged
	JournalErrors  uint64 // a play could not be appended: it is lost
	BatchesSent    uint64
	PlaysSent      uint64 // including resends
	Resends        uint64 // times the uploader went back to the lowest unacknowledged play
	AcksApplied    uint64
	AcksIgnored    uint64 // malformed, wrong format or display, or beyond the journal

	CommandsRun       uint64
	CommandsDuplicate uint64 // re-delivered: answered again, not re-run
	CommandsMalformed uint64 // not JSON or no ID: cannot be answered

	MediaSyncs, MediaSyncFailures uint64
}

// counters are the live Stats.
type counters struct {
	statesApplied, statesStale, statesMalformed, statesUnknownFormat, statesInvalid atomic.Uint64
	persistErrors, polls, pollFails                                                 atomic.Uint64
	itemsShown, missingSlots, outputErrors                                          atomic.Uint64
	playsJournaled, journalErrors, batchesSent, playsSent, resends                  atomic.Uint64
	acksApplied, acksIgnored                                                        atomic.Uint64
	commandsRun, commandsDuplicate, commandsMalformed                               atomic.Uint64
	syncs, syncFailures                                                             atomic.Uint64
}

func (c *counters) countDrop(err error) {
	switch {
	case errors.Is(err, errStateStale):
		c.statesStale.Add(1)
	case errors.Is(err, errStateMalformed):
		c.statesMalformed.Add(1)
	case errors.Is(err, errStateUnknownFormat):
		c.statesUnknownFormat.Add(1)
	default:
		c.statesInvalid.Add(1)
	}
}

// Stats returns a snapshot of the agent's counters.
func (a *Agent) Stats() Stats {
	c := &a.n
	return Stats{
		Connected:           a.client != nil && a.client.Connected(),
		StateRevision:       a.current().revision(),
		JournalPending:      a.journal.PendingCount(),
		StatesApplied:       c.statesApplied.Load(),
		StatesStale:         c.statesStale.Load(),
		StatesMalformed:     c.statesMalformed.Load(),
		StatesUnknownFormat: c.statesUnknownFormat.Load(),
		StatesInvalid:       c.statesInvalid.Load(),
		StatePersistErrors:  c.persistErrors.Load(),
		StatePolls:          c.polls.Load(),
		StatePollFails:      c.pollFails.Load(),
		ItemsShown:          c.itemsShown.Load(),
		MissingSlots:        c.missingSlots.Load(),
		OutputErrors:        c.outputErrors.Load(),
		PlaysJournaled:      c.playsJournaled.Load(),
		JournalErrors:       c.journalErrors.Load(),
		BatchesSent:         c.batchesSent.Load(),
		PlaysSent:           c.playsSent.Load(),
		Resends:             c.resends.Load(),
		AcksApplied:         c.acksApplied.Load(),
		AcksIgnored:         c.acksIgnored.Load(),
		CommandsRun:         c.commandsRun.Load(),
		CommandsDuplicate:   c.commandsDuplicate.Load(),
		CommandsMalformed:   c.commandsMalformed.Load(),
		MediaSyncs:          c.syncs.Load(),
		MediaSyncFailures:   c.syncFailures.Load(),
	}
}
