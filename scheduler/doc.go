// Package scheduler decides what a display shows at any instant. It is pure:
// no I/O, no clock reads, no goroutines, no global state. The server's
// timeline preview and the player call the same code, so the preview is
// exactly what the screen does, and a player cut off for weeks still switches
// campaigns on time.
//
// Compile turns a marquee.DesiredState into a Plan once (cron specs, zones,
// dates, item validity and the asset index parsed and indexed); Plan.At
// answers for one instant and Plan.Timeline for a range. CheckRule, Windows
// and Conflicts serve the schedules API. The package embeds zone data
// (time/tzdata) so controllers without zoneinfo work; where the system has
// zoneinfo Go prefers it, so keep it current on servers and players alike.
//
// # Rules and windows
//
// Dates and cron specs are read in the rule's Timezone, an IANA zone
// ("Asia/Ho_Chi_Minh" when empty; "Local" is refused). StartsOn begins at the
// first instant of that local date (local midnight, or the end of a DST
// transition that skips midnight); EndsOn is inclusive and ends at the first
// instant of the next local date. An empty date leaves that side open.
//
// A rule without Cron is active in one continuous window from the start of
// StartsOn to the end of EndsOn; DurationMS is not used.
//
// A rule with Cron uses robfig/cron's standard 5-field syntax (minute hour
// day-of-month month day-of-week; names such as MON or JAN; "*" and "?";
// ranges, lists and steps; when both day fields are restricted, a day
// matching either fires) or a descriptor: @hourly, @daily, @midnight,
// @weekly (Sunday 00:00), @monthly (the 1st, 00:00), @yearly or @annually.
// @every and TZ=/CRON_TZ= prefixes are refused. Each fire time f whose local
// date lies within [StartsOn, EndsOn] opens the window [f, f+DurationMS),
// DurationMS in (0, 31 days]. The duration is elapsed time: across a DST
// change a 10 h window lasts 10 real hours. Windows may cross midnight and
// outlast EndsOn. The window that contains t is that of the latest in-range
// fire f <= t, if t < f+DurationMS: a later fire restarts the window (and
// the loop's anchor), so overlapping windows cover time continuously.
//
// Fire times are the instants whose wall-clock time in the zone matches the
// spec. A wall time that a DST change skips does not fire that day
// (Europe/Berlin, "30 2 * * *", last Sunday of March; a skipped midnight
// does not fire either); one that a change repeats fires twice (02:30 CEST
// and 02:30 CET on the last Sunday of October). This is robfig/cron v3.0.1's
// behaviour; where robfig's own Schedule.Next is inconsistent (it skips a
// week of "0 0 * * 0" around Australia/Lord_Howe's 30-minute change), the
// wall-clock rule holds. A spec that never fires (30 February) makes a rule
// that is never active; CheckRule refuses it, and a spec that never fires
// within [StartsOn, EndsOn].
//
// # Layers
//
// Layers rank fallback < normal < campaign < takeover < emergency. An item
// is playable at t when t is in [ValidFrom, ValidUntil) (an unset side is
// open). Among the rules active at t, the highest layer on which at least
// one active rule has a playable item wins; lower layers are hidden, though
// their loops keep running on the clock. When no layer wins, the display's
// Fallback playlist plays if it has a playable item (Reason "fallback",
// Layer "fallback"); otherwise the screen is black (Reason "idle", no
// playlist, ItemIndex -1, Layer "").
//
// # The loop (share of voice)
//
// The winning layer's active rules with playable items are ordered by
// ScheduleID, then by their other fields, so the order of rules in the state
// never matters; rules identical in every field count once. With n_j
// playable items for rule j, the loop is: for i in 0..max(n_j)-1, for each
// rule j in order, rule j's playable item i mod n_j (A1 B1 A2 B2 A3 B1 for
// playlists of 3 and 2 items). Its length L is the sum of those items'
// durations (each capped at 366 days). The anchor is the latest window start
// among those rules (an all-day rule without StartsOn counts as starting at
// the Unix epoch); the fallback's anchor is the Unix epoch. The position at
// t is (t - anchor) mod L; the slot that contains it gives the item, the
// slot's Start and End, and Offset = t - Start. Two displays with the same
// state therefore show the same item at the same instant, given synced
// clocks, with no protocol between them. A loop resumed after a higher layer
// ends, or changed by an item's validity, resumes mid-slot (Offset > 0).
//
// # Next and Timeline
//
// Now.Next is the earliest instant after t at which the answer may change:
// the slot's End; a window start, restart or end of a rule on the winning
// layer or above (of any rule when nothing wins); a ValidFrom or ValidUntil
// of an item of such a rule's playlist or of the fallback. t < Next <= End.
// Next may be an instant at which the answer turns out the same (a rule
// starts whose items are not yet valid): ask again. When black and nothing
// can ever start, Next is 2262-04-11T23:47:16.854775807Z.
//
// Plan.Timeline(from, to, limit) equals stepping At from from to each
// answer's Next, merging consecutive answers for the same slot (and
// consecutive black answers), clipped to [from, to): its entries tile
// [from, to). An entry's Start is when the item becomes visible, not the
// slot's start.
//
// Instants are handled between 1720 and 2250 (outside, they are clamped);
// returned times are in UTC.
//
// # Cost
//
// At parses nothing and does not allocate (up to 64 rules sharing the
// winning layer). Each rule on the winning layer or above costs one cron
// look-up when inactive and two when active; a rule that fires more than
// five times per duration costs O(log duration) look-ups (gallop back from
// t, then bisect on Next's argument at one-second resolution). Rules before
// their StartsOn cost nothing unless they could start before Next; rules
// whose windows have all closed cost nothing. Timeline enumerates each
// rule's fire times over the range once, re-evaluates only where rules or
// validity change, and walks the loop in between.
package scheduler
