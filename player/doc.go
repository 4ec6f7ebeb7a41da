// Package player is the agent that runs on a screen controller: it keeps
// the display's desired state, plays it from a local cache with package
// scheduler (the same code as the server's preview), journals every play,
// uploads plays in batches, reports its status and answers commands.
// Subpackages journal and cache hold the crash-safe play journal and the
// content-addressed media cache; cmd/marquee-player wires it all.
//
// # Guarantees
//
//   - The screen never waits for the network. NewAgent loads the last
//     applied state from CacheDir/state.json, and Run starts playing it at
//     once; with the server, the broker or both unreachable the display
//     keeps following its schedule from the cache, for weeks if need be
//     (schedules are data, evaluated locally). Run returns only when its
//     context ends or Close is called.
//   - A state is applied only if its revision is greater than the applied
//     one, its format is known (1), it is for this display, Validate passes
//     and scheduler.Compile succeeds. Anything else — older or equal
//     revision, malformed JSON, unknown format, invalid, over 1 MiB — is
//     dropped, logged and counted (Stats), and playback goes on. States
//     arrive over MQTT (retained, QoS 1) and HTTP (polled with
//     If-None-Match every PollInterval ±20%), so a broker that lost its
//     retained messages cannot strand a screen. An applied state is
//     persisted atomically (temp file, fsync, rename, fsync of the
//     directory) before it is used, and its manifest is downloaded in the
//     background; a newer state cancels the download of an older one.
//   - Only verified files play: the engine shows an item only if
//     cache.Path has it (hash checked). An item whose file is missing
//     leaves its slot black (counted in Stats.MissingSlots; no play is
//     recorded) and goes on screen, mid-slot, as soon as the file arrives.
//   - Every item that was on screen becomes exactly one play in the
//     journal, with a random UUID made when it went on screen, and stays
//     there until the server acknowledges it. Plays go out in batches of up
//     to BatchMax (sooner when BatchInterval has passed), one batch in
//     flight at a time: acks are cumulative, so with two batches in flight
//     the ack of the second could cover the first even if it was lost on
//     the way. A batch without an ack within AckTimeout, and everything
//     unacknowledged after a reconnection, is sent again from the lowest
//     unacknowledged sequence; the server stores plays idempotently by ID,
//     so duplicates are harmless. The uploader never drops an
//     unacknowledged play (the journal's own size cap, 1 GiB by default,
//     is the one exception, for displays cut off for months).
//   - Commands are answered once per ID: a re-delivered command is answered
//     with the stored result, not run again (the last 256 IDs, in memory:
//     after a restart a command the broker re-delivers runs again, which
//     every command tolerates). The MQTT session is persistent, so commands
//     and acks sent while the display is offline reach it when it is back.
//
// # Plays
//
// A play is the time one item of one slot was on screen. The engine keys a
// slot by (playlist revision, item index, slot start, reason, schedule):
// since playlist revisions are immutable, the same key is the very same
// item at the same place in the loop. When an evaluation — at a Next that
// changes nothing, or after a new state was applied — gives the same key,
// the item stays on screen untouched and its play continues; a new state
// therefore splits a play only if it really changes what is on screen or
// where the loop stands. Consecutive slots of the same item (a one-item
// playlist looping) are separate plays, and Show is called again for each,
// so a video restarts as the schedule says.
//
// started_at is when Show was called, ended_at when the next Show or Blank
// was (or the agent stopped), both in UTC with millisecond precision;
// planned_ms is the item's duration_ms; played_ms is the time on screen,
// measured on the monotonic clock; completed is marquee.IsCompleted. An
// item shown mid-slot (after a start-up, a late download or a higher layer
// ending) records what it really played and is usually not completed.
//
// # Status
//
// The retained status (Topics.Status) is published on every connection,
// on every state applied, every HeartbeatInterval and after a change of
// what is on screen, at most once per 5 s (the latest one always goes out
// at the end of those 5 s; see status.go):
// online, what is on screen, the applied revision, cache bytes, free disk,
// uptime, version and clock offset. The clock offset is the player's clock
// minus the server's, from the Date header of the last state fetch: Date
// has one-second resolution, so the offset is good to about a second — it
// spots a controller whose NTP is broken, it does not measure sync between
// screens. The Last Will is the retained {"format":1,"display_id":…,
// "online":false}; Close publishes the offline status itself, because a
// broker sends the Will only when a client vanishes.
//
// # Output
//
// Output is shaped by the three renderers the player will drive:
//
//   - mpv, over its JSON IPC socket: Show becomes `loadfile <path>
//     replace` plus `seek <offset> absolute` (or the start= option) for
//     videos; for stills, `image-display-duration=inf`. mpv switches files
//     itself and answers at once, so Show returns quickly; Blank loads a
//     black frame or stops.
//   - a browser page (kiosk Chromium), over a WebSocket the output serves:
//     Show pushes {url, kind, offset, fit} and the page swaps an <img> or
//     <video currentTime=offset>; Blank pushes a blank message. Item.Path is
//     served by the output's own file handler; MIME tells the page what to
//     create.
//   - a framebuffer or DRM device: Show decodes the still (already cut to
//     the panel's pixel size, so Width and Height match) and draws it;
//     videos need a decoder and are refused with an error.
//
// Hence the contract: the engine alone decides timing (an output never
// reports "finished"; the schedule says when an item ends, so every screen
// with the same state switches at the same instant), calls are sequential
// and must return quickly, Offset carries the seek, and an item is a local
// verified file with the manifest's metadata. A later output that needs
// preloading for gapless video can add an optional interface (Preload),
// detected with a type assertion, without changing this one.
// HeadlessOutput logs what would be on screen and records it for tests.
//
// # Clocks
//
// Config.Now is the wall clock the schedule is evaluated on and plays are
// stamped with; intervals (polls, batches, ack timeouts, heartbeats) run on
// Go's monotonic timers. The engine re-evaluates at least every 5 seconds,
// so a wall clock stepped by NTP at boot is followed promptly.
package player
