// Package sqlstore is Marquee's database: one *DB type, implementing
// media.Store and auth.Store, on SQLite (the default, embedded) or
// PostgreSQL (several replicas, large fleets).
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
// ("media is used by a playlist"), EINVALID for bad input (a malformed
// cursor, a reference to an organisation or user that does not exist),
// EUNAVAILABLE when the database cannot be reached or its schema does not
// match. Messages are safe to show; driver errors and SQL stay in Err.
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
