// The Lua scripts that make every queue step atomic (CONTRACT.md sections 1, 4 and 5).
#pragma once

#include <string>

namespace wa::queue {

struct Script {
  const char* name;
  std::string source;
  std::string sha;  // sha1 of source, as Redis names it
};

// Moves due delayed jobs to the tail and expired leases back to the head (or, after
// max_deliveries expiries, hands them out flagged as poison), then takes up to `batch` jobs,
// or max_bytes of payloads (at least one job), into the reserved zset. A payload over
// max_bytes goes to the dead list at once, with its size and first 512 bytes (base64) but not
// its bytes, and a dead event on results when its head names a campaign_id.
//   KEYS: queue notify reserved delayed deliveries dead results
//   ARGV: now lease_until batch max_deliveries max_bytes now_iso (now and the new leases'
//   expiry as zset scores: Unix seconds with a fraction, queue/score.hpp)
//   returns {duplicates, recovered, oversized, payload1, poison1, payload2, poison2, ...}
//   (poison "1" or "0"; recovered: expired leases put back at the head; oversized: payloads
//   sent to dead)
const Script& take_script();

// Writes the outputs of a batch of decided jobs and acknowledges each, job by job, each job in a
// protected call: one job's failure never holds another.
//   KEYS: reserved deliveries appending
//   ARGV: marker_ttl now_ms, then per job: payload marker contacts_key expected_len nwords ops...
//   where ops (nwords ARGV entries) are: argc cmd args..., each a Redis command, or WA_PLACE
//   stage dst n: the stage list (n contacts) becomes the dispatch list dst by RENAME, or, when
//   dst exists, is kept and registered in `appending` for bounded appends (append_step_script).
//   Nothing in it copies contacts: its work per job is bounded whatever the campaign's size.
//   returns one {code, message} per job: 1 done; 2 already decided (acknowledged without
//   outputs); 0 no longer reserved (nothing written); -1 contacts_key or a stage is not as
//   counted (nothing written); 5 contacts_key is not a list (nothing written); 6 a command of
//   the job failed, message "CMD key: error" (its other commands still ran, as in MULTI/EXEC;
//   the job is acknowledged and its marker kept, so that nothing is written twice); 7 another
//   error (nothing written, the job still reserved).
const Script& finish_script();

// Appends at most `max` contacts of a registered stage list to its dispatch list, from the
// stage's head, atomically; the registration goes when the stage is empty.
//   Once a stage is whole, the counter `appending .. ":" .. dst` (INCR by the finish script per
//   stage registered) is decremented, and removed at 0: the pacer keeps dst's campaign in its
//   backlog while the counter exists.
//   KEYS: appending stage dst   ARGV: member max
//   returns the contacts left in the stage, or an error when dst holds another type (nothing
//   moved).
const Script& append_step_script();

// Puts jobs still reserved back at the head of the queue, in their order.
//   KEYS: reserved queue notify   ARGV: payloads (oldest first)
//   returns the number put back.
const Script& release_script();

// Applies a batch of aggregated events and trims them from the head of the events list, all at
// once, if the events lock is ours and the batch's last event is still where it was read. A
// batch whose statistics touch many keys comes in parts, so that no call blocks Redis long:
// the first part is applied here and the others are staged (a list that only the events lock's
// holder changes, never expiring), for apply_staged_events_script, whose last part trims.
//   KEYS: events lock malformed_counter staged
//   ARGV: token consumed last_event stats_ttl daily_ttl malformed nstaged, then nstaged parts
//   (msgpack arrays, see below), then the first part's entries: nsessions, then nsessions
//   times: stats_key nminutes (minute packed)..., then to the end: daily_key packed...
//   where packed is "t s d r f rs rc ds dc" (codec.hpp): a minute's packed value is added to the
//   session stats field <minute> (created when missing), a daily hash gets HINCRBY (counts) and
//   HINCRBYFLOAT (the two time sums) of its non-zero counters.
//   A write that fails (a statistics key of another type, a counter that is not a number) is
//   skipped, never fatal: the batch is applied and trimmed all the same, so it is never applied
//   twice.
//   returns {status, failures}: status 1 applied (failures: writes skipped); 0 the lock is not
//   ours; -1 the list's head is not the batch read; -2 parts of an earlier batch are staged
//   (nothing applied in those three cases).
const Script& apply_events_script();

// Applies the next staged part of a batch (apply_events_script) if the events lock is ours.
// A part is a msgpack array of strings: consumed malformed stats_ttl daily_ttl, then entries as
// above; consumed and malformed are "0" except in the batch's last part, which trims the batch
// and counts its malformed events.
//   KEYS: events lock malformed_counter staged   ARGV: token
//   returns {status, failures, consumed, malformed}: status 1 applied a part (consumed > 0: it
//   was the last); 2 nothing is staged; 0 the lock is not ours.
const Script& apply_staged_events_script();

// A session stats hash whole while it is small, else only its size (to be read with HSCAN):
// never one command over a hash that the app's events made huge.
//   KEYS: stats   ARGV: max_fields   returns the HGETALL array, or HLEN when above max_fields.
const Script& read_stats_script();

// Writes a session's health fields only while its hash exists (never creates one).
//   KEYS: session   ARGV: health_score health_updated_at health_metrics   returns 1 or 0.
const Script& set_health_script();

// One bounded step of a provider switch (CONTRACT.md section 6): pops the next n contacts from
// the head of the broken target's list and pushes each to its destination, in order, then
// writes the stored decision and the move's progress record (deleted by the last step, which
// also appends the provider_switch record), all at once. A share "dst first stride count" gives
// dst the popped contacts first, first+stride, ... (0-based). Nothing is popped unless every
// share is in range, the shares cover the n contacts exactly once and every destination is a
// list (or absent): nothing can fail after the pop.
// With pacing (now_ms not ""), the first step of a move (old_progress "") first takes the
// campaign's items out of the first 1,000 of src's ready list (the other items, and anything
// that is not an item, stay in order) and puts their contacts back at the head of src, in order:
// they are the plan's first positions (len counts them). Every step adds the campaign to each
// destination's backlog (ZADD backlog_prefix..pace_target NX now_ms campaign) and the pace
// target to `due` (NX now_ms); a backlog or due key of another type is skipped. Without pacing
// neither ready, due nor any backlog is touched. A share with a sticky session (section 10) HSETs
// each contact it moves to that session in the sticky hash (1,000 fields per HSET).
//   KEYS: src decision results lock progress ready due sticky
//   ARGV: token lock_ttl_ms n old_decision new_decision old_progress ("" none) new_progress
//   ("" delete) progress_ttl_s record ("" none) now_ms ("" pacing off) campaign backlog_prefix,
//   then shares: dst first stride count pace_target sticky_session ("" none) ...
//   returns {1} done (the lock's TTL renewed); {0} lock lost; {-1, len} the list (with the
//   ready items it would take back) holds only len contacts; {-2} the decision changed; {-3} the
//   progress record changed; {-4, why} a share or a destination is wrong. Nothing is written
//   unless {1}.
const Script& switch_step_script();

// Removes up to `max` of the lowest-scored members scored at most `until` (the oldest entries of
// wa:campaigns:active), so that a big backlog of old entries goes in bounded steps.
//   KEYS: zset   ARGV: until max   returns the number removed.
const Script& prune_active_script();

// What waits on a pacing target, for the prediction (section 8): the ready list's length, then
// the length of the dispatch list of each of the first `limit` campaigns of the backlog that is
// not paused. Bounded: `limit` campaigns whatever the backlog's size.
//   KEYS: ready backlog paused   ARGV: dispatch_prefix list_target limit
//   returns {ready_len, len...}
const Script& backlog_lengths_script();

// One bounded release step of a target's pacing (CONTRACT.md section 8, queue/pacer.hpp): up to
// n contacts go from the target's dispatch lists to its ready list, one per campaign per turn,
// in backlog order starting after the pace hash's last_campaign and skipping paused campaigns;
// at most 100 backlog members are looked at whatever the backlog's size. A campaign whose
// dispatch list is empty (or not a list) leaves the backlog, unless `appending_prefix .. list`
// exists (contacts are still being appended to it: queue/appends). Nothing at all happens when
// lock_token is not '' and the lock key does not hold it ("lock_lost"); nothing but the target's
// score in `due` (set to it) when the pace hash's next_at is still ahead ("early": a target a
// finish step put back in `due` before its gap was over). Refused, with nothing
// released, when released_today (0 on a new day) has reached cap_today ("cap") or the ready list
// holds `room` items ("backpressure"); n is lowered to the room and the cap left, and to 1,000
// (250 with a Meta budget).
// Then, whatever happened, the pace hash gets rate_per_hour day released_today cap_today
// (removed when -1) next_at (cap_next_at after "cap") last_campaign, and factor when it has none
// (the health cycle owns it), the target's score in `due` becomes that next_at (the target leaves
// it when its backlog is empty), and the releases are added to the field <now ÷ 60000> of
// `released` (TTL stats_ttl; fields older than 120 minutes pruned once it has over 180).
// A ready item is {"campaign_id", "contact", "released_at"}: the id is a JSON number when it
// reads as an integer in 1 … 2^63−1 (digits without a leading zero), else a string (the backlog
// member is the id's text, as in the dispatch list's name, which has no type). Dispatch lists are
// named in the script: dispatch_prefix .. campaign .. ":" .. list_target (the target, or
// "meta_api" for a meta_api:<workspace> target).
// Meta's budget (section 9), when KEYS[8] is given: entries older than `window` ms go first (at
// most 200 per call); a contact is taken only when it has an entry younger than the window or
// fewer than tier_limit entries are; its entry becomes now. The first contact that does not fit
// ends the call ("budget", after any releases before it), the contact stays at its list's head,
// and next_at becomes the time the oldest live entry ages out (at least next_at). The pace hash
// then also gets budget_used (live entries) and tier_limit.
//   KEYS: pace ready backlog due paused released lock [budget]
//   ARGV: target now_ms n room next_at day cap_today rate_per_hour factor now_iso
//   dispatch_prefix stats_ttl list_target cap_next_at lock_token appending_prefix
//   [tier_limit window_ms]
//   returns {released, reason, released_today}: reason "" when released > 0, else "empty" (no
//   backlog left), "paused" (every campaign looked at is paused), "cap", "backpressure",
//   "lock_lost", "early", or "stale" (only emptied campaigns were looked at: call again);
//   "budget" with or without releases.
const Script& pace_release_script();

// Meta's budget for the prediction (section 9): the number of entries scored above `cutoff`
// (ms) and, of at most `samples` of them at evenly spaced ranks (oldest first, newest last),
// their scores. Bounded: one ZRANGE of one entry per sample.
//   KEYS: budget   ARGV: cutoff samples   returns {used, score...}
const Script& meta_budget_sample_script();

// Extends a lock we hold.  KEYS: lock  ARGV: token ttl_ms   returns 1 held, 0 lost.
const Script& renew_lock_script();

}  // namespace wa::queue
