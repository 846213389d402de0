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
// max_deliveries expiries, hands them out flagged as poison), then takes up to `batch` jobs
// into the reserved zset.
//   KEYS: queue notify reserved delayed deliveries
//   ARGV: now_ms lease_ms batch max_deliveries
//   returns {duplicates, recovered, payload1, poison1, payload2, poison2, ...} (poison "1" or
//   "0"; recovered: expired leases put back at the head)
const Script& take_script();

// Writes the outputs of a batch of decided jobs and acknowledges each, job by job.
//   KEYS: reserved deliveries
//   ARGV: marker_ttl, then per job: payload marker contacts_key expected_len nwords ops...
//   where ops (nwords ARGV entries) are: argc cmd args..., each a Redis command, or WA_COPY src
//   dst first count (a contiguous block of a list), or WA_DEAL src count dst1..dstk (round robin
//   over the first count items of a list).
//   returns one entry per job: 1 done; 2 already decided (acknowledged without outputs); 0 no
//   longer reserved (nothing written); -1 contacts_key no longer has expected_len items; or an
//   error "CMD key: message" (a command of the job failed: its other commands still run, as in
//   MULTI/EXEC; the job is acknowledged and its marker kept, so that nothing is written twice;
//   the daemon reports it).
const Script& finish_script();

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

// Moves a broken target's undelivered contacts (CONTRACT.md section 6), all or nothing.
//   KEYS: src decision results lock
//   ARGV: token expected_len old_decision new_decision record, then ops (WA_COPY / WA_DEAL)
//   returns 1 moved; 0 lock lost; -1 the list length changed; -2 the decision changed.
const Script& switch_script();

// Extends a lock we hold.  KEYS: lock  ARGV: token ttl_ms   returns 1 held, 0 lost.
const Script& renew_lock_script();

}  // namespace wa::queue
