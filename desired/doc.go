// Package desired builds the desired state of each display: the rules that
// target it, the playlist revisions they name, the manifest of files cut for
// its resolution, and its fallback, as one marquee.DesiredState.
//
// Only approved content reaches a state: rules are made from the schedules'
// approved versions (package schedules), each playing the playlist revision
// its approval pinned; a schedule never approved contributes nothing, and
// an edit of a schedule or a playlist none until it is approved. The
// fallback plays the playlist revision pinned when an admin last set it
// (displays.Display.FallbackRevision), so an edit of a playlist used as a
// fallback reaches no screen until an admin sets the fallback again.
//
// The builder is deterministic: the same data gives byte-identical JSON. The
// state's revision is kept per display in the store together with a SHA-256
// of the state's content (everything but the revision): a rebuild whose
// content hash matches keeps the revision, any other rebuild increases it by
// one. So the revision increases on every change that affects the display
// (its own settings, an approval of a schedule that reaches it, its
// fallback playlist, the media they play) and on nothing else.
//
// Rules whose last window ended before the build instant are pruned (an
// expired campaign leaves the state once), so the state stays small over
// years of campaigns.
//
// With each state the store keeps an index (Stored.Refs, NextPruneAt):
// every schedule, playlist and media ID the state references, so that a
// change to one finds the displays it reaches, and the instant its earliest
// rule expires, so that a periodic job rebuilds the state then. A state
// stored under an older IndexVersion is indexed again on its next build,
// keeping its revision.
//
// Builder.State builds one display from the store. When a change reaches
// many displays, Builder.States (or a Batch, for a round built in several
// calls) builds them together: schedules, playlists, media and renditions
// are loaded once for all of them, the displays' own rows a chunk at a time
// (in bulk when the Store implements the optional interfaces of batch.go),
// and each display's state, revision and index come out exactly as State
// would give them.
package desired
