// Package cache is the player's verified, content-addressed media cache:
// the files of the desired state's manifest (marquee.MediaAsset), fetched
// over HTTP and named by their SHA-256.
//
// # Guarantees
//
//   - A file is never played half-written or unverified. Path and Has only
//     know files in Dir/files, and a file gets there only by rename, after
//     its size (when the manifest gives one) and SHA-256 were checked and
//     the file fsynced; the directory is fsynced after the rename. A power
//     cut leaves either the old state or the verified file.
//   - Downloads resume. Bytes land in Dir/partial/<sha256>; the next attempt
//     (or the next run) asks for the rest with "Range: bytes=N-" and keeps
//     them only if the server answers 206 with a Content-Range starting at
//     N. A 200 restarts from zero; so does a hash mismatch.
//   - Failures are bounded and classified. Each file gets MaxAttempts
//     attempts per Sync call with jittered exponential back-off (5xx, 408,
//     429, network errors, stalls of IdleTimeout); 401, 403, 404 and other
//     client errors fail at once, with the marquee error code
//     EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND or EINVALID. A download that would
//     leave less than 64 MiB free on the disk is refused.
//   - At most Concurrency downloads run at once, across concurrent Sync
//     calls, and one file is downloaded by one call at a time.
//   - Sync returns promptly when its context ends, with every goroutine it
//     started finished; the Cache runs nothing in the background.
//   - The bearer token goes only to BaseURL's origin.
//   - Eviction (Evict) removes least recently used files (Touch) not in the
//     keep set, only while the cache is over Limit; kept files are never
//     removed. Sync never evicts.
//
// Files in Dir/files are trusted at Open (they were verified before the
// rename); Verify re-hashes them all on demand (the resync-media command).
package cache
