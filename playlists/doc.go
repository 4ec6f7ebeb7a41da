// Package playlists composes media into playlists: ordered items, each shown
// for a duration with a fit mode and an optional validity window.
//
// Every change makes a new, immutable revision, numbered 1, 2, 3, … per
// playlist; what the server publishes to displays names revisions
// (marquee.PlaylistRef), so a display plays exactly the items it was sent
// even while someone edits the playlist. A revision is self-contained: its
// items carry the durations and fit modes resolved when it was made (an
// image's default 10 s, a clip's own length), never "use the default".
//
// Service validates and resolves input and is the only writer; it declares
// the two storage seams it needs, Store (playlists and revisions) and
// MediaLookup (what kind of media an item names, and how long a clip is).
// Package sqlstore implements both. The store keeps the media of each
// playlist's current revision so that the database itself refuses to delete
// media a playlist plays, and refuses to delete a playlist that a schedule
// or a display's fallback names.
//
// Items whose validity window does not hold the current instant are
// skipped by the player (package scheduler); this package only stores the
// window.
package playlists
