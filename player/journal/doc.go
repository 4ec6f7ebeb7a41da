// Package journal is the player's crash-safe proof-of-play journal: every
// play is appended when it ends, uploaded in batches, and dropped only once
// the server acknowledges it (marquee.PlayAck).
//
// # Guarantees
//
//   - Append assigns the next sequence number and writes the record with
//     write(2) before it returns, so a crash of the process — even SIGKILL —
//     loses nothing Append returned. A background goroutine fsyncs within
//     Options.SyncInterval (group commit), so a power cut loses at most the
//     plays of the last interval.
//   - Sequence numbers ascend and never repeat in one directory, across
//     restarts, and even after every segment was acknowledged and deleted:
//     the high-water mark is persisted with the ack mark.
//   - Pending returns only fsynced entries (it fsyncs first when needed), so
//     a seq the server has seen is never reassigned to a different play.
//     The one seq that can be assigned twice is that of a record cut from a
//     torn tail after a power cut: it was never fsynced, so never offered.
//   - Ack persists the mark atomically (temp file, fsync, rename, fsync of
//     the directory) before anything is deleted; an acknowledged entry is
//     never offered again, an unacknowledged one is offered until acked (or
//     dropped, below). The server de-duplicates by play ID, so re-sending
//     after a crash between upload and ack is harmless.
//   - Open recovers from damage: a torn tail (a partial last line, records
//     that fail their CRC-32C) is truncated away, a damaged record in the
//     middle of a segment is skipped; both are counted in Stats.Torn and
//     logged. Intact records before and after survive.
//   - The journal never grows past Options.MaxBytes: beyond it the oldest
//     segments are deleted unacknowledged and counted in Stats.Dropped — a
//     screen offline for months keeps playing and keeps its newest proofs.
//   - Memory stays small for millions of entries: segments are indexed
//     sparsely (one offset per 64 records) and Pending reads the files.
//
// # Format
//
// The directory holds segment files seg-<first seq, 20 digits>.log, the
// mark ack.json ({"acked":N,"high":M}) and LOCK (an flock held while open,
// so two processes never share a journal). A segment holds one record per
// line:
//
//	<crc32c of the JSON, 8 hex digits> <JSON of marquee.JournaledPlay>\n
//
// The JSON starts with "seq", so Open reads a segment without decoding
// plays. A segment is closed for appends once it reaches
// Options.SegmentBytes and deleted once all its entries are acknowledged.
package journal
