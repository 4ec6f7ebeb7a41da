// Package sqlstore is Marquee's database: one *DB type, implementing
// media.Store, auth.Store, playlists.Store, playlists.MediaLookup,
// displays.Store, schedules.Store, orgs.Store and fleet.Store, on SQLite
// (the default, embedded) or PostgreSQL (several replicas, large fleets).
//
// # Dialects
//
// Open picks the dialect from the DSN: "sqlite:///absolute/path.db" or
// "sqlite://relative/path.db" (modernc.org/sqlite, pure Go), or
// "postgres://…" / "postgresql://…" (pgx through database/sql). Queries are
// written once with ? placeholders in the SQL both engines accept; dialect.go
// holds the few differences (placeholder rebinding, catalog lookups, locks,
// error classification) and migrations/<dialect>/ the schema.
//
// SQLite connections get their pragmas from the DSN, so every pooled
// connection has them: foreign_keys on, busy_timeout 10 s, WAL,
// synchronous NORMAL. SQLite allows one writer at a time, so every write goes
// through a pool of one connection whose transactions BEGIN IMMEDIATE:
// writers queue in Go instead of failing with SQLITE_BUSY, while reads use a
// separate pool of read-only connections that run in parallel (WAL). On
// PostgreSQL one pool (20 connections) serves both.
//
// # Times
//
// Times are stored as BIGINT (SQLite: INTEGER) unix milliseconds in UTC in
// both dialects, and returned as time.Time in UTC. Values are truncated to
// the millisecond; the Create methods write the stored values back into the
// caller's struct.
//
// # Errors
//
// Failures carry codes from the root package: ENOTFOUND for an absent row,
// ECONFLICT for a unique violation or a delete refused by a foreign key
// ("media is used by a playlist", "playlist is used by a schedule or a
// display"), EINVALID for bad input (a malformed
// cursor, a reference to an organisation or user that does not exist),
// EUNAVAILABLE when the database cannot be reached or its schema does not
// match. Messages are safe to show; driver errors and SQL stay in Err.
//
// # Playlists
//
// A playlist is a row in playlists plus immutable rows in
// playlist_revisions, whose items are JSON text with times as unix
// milliseconds (a store-private format, independent of the API's JSON).
// playlist_media mirrors the media of each current revision, kept in the
// same transaction as the revision: its RESTRICT foreign key to media is
// what makes a delete of used media a conflict. UpdatePlaylist locks the
// playlist row (PostgreSQL: SELECT … FOR UPDATE; SQLite: the write lock of
// every write transaction) before it reads the current revision, so
// concurrent updates queue and number their revisions one after another.
//
// # Displays and schedules
//
// A display's tags live in display_tags; a schedule's targets in
// schedule_displays (by display ID) and schedule_tags (by tag), each
// indexed for lookups from the display or tag side. A schedule reaches a
// display when it names it or shares a tag with it: FindSchedulesForDisplay
// answers that with one query (a UNION of the two routes, joining
// schedule_tags to display_tags), then loads the targets of what it found
// with one query per table, whatever the number of schedules. Deleting a
// display cascades to its tags and to its rows in schedule_displays;
// playlists named as a display's fallback or a schedule's playlist cannot
// be deleted (RESTRICT). Create and update check inside their transaction
// that the playlist and displays they name exist, so a missing one is
// EINVALID naming it rather than an anonymous foreign key failure. Display
// tokens are stored only as hashes, unique across displays.
//
// A schedules row is the schedule's working copy, with its approval status;
// approved_schedules holds its approved version (the working copy's fields
// as approved and the playlist revision pinned), with its own targets
// (approved_schedule_displays, approved_schedule_tags) and the media of the
// pinned revision (approved_schedule_media, whose RESTRICT foreign key keeps
// that media from being deleted, as playlist_media does for current
// revisions). ChangeScheduleApproval approves inside one transaction that
// locks the schedule and its playlist, so the revision pinned is the one the
// caller checked. The desired-state queries (FindLiveSchedulesForDisplay,
// FindLiveSchedulesReaching) reach displays through the approved targets
// only. See approval.go. A display's fallback is pinned the same way:
// CreateDisplay and UpdateDisplay lock the fallback playlist, store its
// current revision as fallback_revision and its media in
// display_fallback_media (RESTRICT, like approved_schedule_media).
//
// # Organisations
//
// Each organisation row keeps its materialised path, "/org_root/org_x/",
// written once on insert (organisations never move). "In the subtree of X"
// is a range on the uniquely indexed path (pathWithin, inSubtree); every
// list takes it as a filter (Within), and a schedule reaches a display only
// when the display's organisation is in the subtree of the schedule's
// (reaching). References between objects must stay on one branch of the
// tree (onBranch): content of an organisation, of one above it or of one
// below it; displays of the schedule's organisation or below.
//
// # Plays, status and commands
//
// plays holds one immutable row per play, keyed by the UUID its player made:
// InsertPlays writes a batch in one transaction with INSERT … ON CONFLICT
// (id) DO NOTHING, so a re-sent play is stored once and the count it
// returns is of new rows (PostgreSQL: 100 rows a statement, saving round
// trips; SQLite: a prepared one-row statement, which measured faster). plays has no foreign
// keys — the playback log outlives the media, displays and schedules it
// names — and an index per filter of FindPlays, which pages newest first
// with a keyset cursor over (started_at, id). display_status keeps each
// display's latest heartbeat (deleted with the display); status_events
// records every online/offline transition in the same transaction, and
// like plays outlives the display. commands cascade with their display.
// FindDisplayByTokenHash looks a display up by its token hash through the
// unique index (players authenticate their HTTP requests with it).
//
// # Accounts
//
// sessions and api_tokens store only the SHA-256 of their tokens, and go
// with their user (CASCADE). UpdateUser writes a user's role, flag and
// password hash and, when asked, deletes its credentials in the same
// transaction; it refuses (ECONFLICT) to leave the root organisation
// without an enabled admin, checking inside the transaction with the
// root's admins locked. login_throttles keeps the failed-login counters of
// each username (known or not), read-modified-written by
// UpdateLoginThrottle under a row lock; OrgInSubtree and FindUsers walk
// organisations.parent_id with a recursive CTE. See accounts.go.
//
// # Audit log
//
// audit_log is append-only: triggers refuse UPDATE and DELETE in both
// dialects (PostgreSQL: TRUNCATE too), and the store only inserts and
// selects. Like plays it has no foreign keys (an entry outlives its user,
// organisation and object) and an index per filter of FindAudit, which
// pages newest first with a keyset cursor over (at, id) and keeps an
// organisation's subtree through organisations.path.
//
// # Migrations
//
// Migrations are embedded SQL files, migrations/<dialect>/NNNN_name.sql,
// numbered 1, 2, 3, … without gaps, the same numbers in both dialects. They
// are forward-only: a change is a new file, never an edit of an applied one.
// Migrate applies the pending ones, each in one transaction together with
// its row in schema_migrations(version, applied_at), so a failure leaves the
// previous version intact. Replicas may migrate at once: each migration
// transaction holds a PostgreSQL advisory lock (SQLite: the write lock) and
// re-checks that its version is still pending. Open never migrates; a server
// calls CheckSchema and refuses to start on an older schema ("run `marquee
// migrate`") or a newer one ("upgrade marquee").
//
// # Tests
//
// One conformance suite (TestConformance) runs against both dialects:
// SQLite always, in a temporary file per test; PostgreSQL when
// MARQUEE_TEST_POSTGRES_DSN is set, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable, in a fresh schema
// per test that is dropped afterwards.
package sqlstore
