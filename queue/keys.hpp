// Every Redis key and channel of CONTRACT.md, with the configured prefix applied. Keys the daemon
// writes *into JSON* (a distribution entry's `key`) are built without the prefix by core/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wa::queue {

class Keys {
 public:
  Keys(std::string prefix, std::string queue_name)
      : p_(std::move(prefix)), q_(p_ + "queues:" + queue_name) {}

  std::string with_prefix(std::string_view k) const { return cat(p_, k); }

  // Section 1: the Laravel queue layout.
  const std::string& queue() const noexcept { return q_; }
  std::string notify() const { return q_ + ":notify"; }
  std::string reserved() const { return q_ + ":reserved"; }
  std::string delayed() const { return q_ + ":delayed"; }
  std::string dead() const { return q_ + ":dead"; }
  // Lease expiries per reserved payload (sha1 of the bytes → count), for poison detection.
  std::string deliveries() const { return q_ + ":deliveries"; }

  // Section 2: written by the app.
  std::string workspaces() const { return p_ + "wa:workspaces"; }
  std::string workspace_sessions(std::string_view ws) const {
    return cat(p_, "wa:workspace:", ws, ":sessions");
  }
  std::string workspace_meta(std::string_view ws) const {
    return cat(p_, "wa:workspace:", ws, ":meta");
  }
  std::string session(std::string_view id) const { return cat(p_, "wa:session:", id); }
  std::string events() const { return p_ + "wa:events"; }

  // Section 4: outputs.
  std::string dispatch(std::string_view campaign, std::string_view target) const {
    return cat(p_, "wa:dispatch:", campaign, ":", target);
  }
  std::string decision(std::string_view campaign) const {
    return cat(p_, "wa:campaign:", campaign, ":decision");
  }
  // The prefix of every dispatch list: the pacer's release script builds a campaign's list for a
  // target from it (dispatch_prefix() + campaign + ":" + target).
  std::string dispatch_prefix() const { return p_ + "wa:dispatch:"; }
  std::string results() const { return p_ + "wa:results"; }
  std::string active() const { return p_ + "wa:campaigns:active"; }
  std::string alerts() const { return p_ + "wa:alerts"; }
  // The newest alerts (list, newest first, capped): what the status page shows of wa:alerts.
  std::string recent_alerts() const { return p_ + "wa:alerts:recent"; }
  // Marker of a decided job_id and attempt (exactly-once outputs). The attempt of a payload that
  // could not be parsed, and of a poison job, are these words.
  static constexpr std::string_view kBadAttempt = "bad";
  static constexpr std::string_view kPoisonAttempt = "poison";
  std::string decided(std::string_view job_id, std::string_view attempt) const {
    return cat(p_, "wa:decided:", job_id, ":", attempt);
  }

  // Section 10: contact -> the session that last wrote to it.
  std::string sticky(std::string_view ws) const { return cat(p_, "wa:sticky:", ws); }

  // Section 8: pacing. A target is a webjs session id or "meta_api:<workspace_id>".
  std::string ready(std::string_view target) const { return cat(p_, "wa:ready:", target); }
  std::string backlog(std::string_view target) const { return cat(p_, "wa:backlog:", target); }
  std::string pace(std::string_view target) const { return cat(p_, "wa:pace:", target); }
  std::string pace_due() const { return p_ + "wa:pace:due"; }
  // Meta's moving-window budget of a portfolio (CONTRACT.md section 9).
  std::string meta_budget(std::string_view portfolio) const {
    return cat(p_, "wa:meta:budget:", portfolio);
  }
  std::string paused_campaigns() const { return p_ + "wa:campaigns:paused"; }
  std::string workspace_pacing(std::string_view ws) const {
    return cat(p_, "wa:workspace:", ws, ":pacing");
  }
  // Releases per minute of a target (field <minute> → count), beside the session stats.
  std::string released_stats(std::string_view target) const {
    return cat(p_, "wa:stats:released:", target);
  }

  // The daemon's own state.
  std::string session_stats(std::string_view id) const { return cat(p_, "wa:stats:session:", id); }
  std::string session_health(std::string_view id) const { return cat(p_, "wa:health:", id); }
  std::string daily(std::string_view ws, std::string_view provider, std::string_view day) const {
    return cat(p_, "wa:stats:daily:", ws, ":", provider, ":", day);
  }
  std::string switch_reported(std::string_view campaign) const {
    return cat(p_, "wa:campaign:", campaign, ":switch_reported");
  }
  // The provider switch of a campaign that is under way (a plan moved in steps; section 6).
  std::string switch_progress(std::string_view campaign) const {
    return cat(p_, "wa:campaign:", campaign, ":switching");
  }
  std::string campaign_lock(std::string_view campaign) const {
    return cat(p_, "wa:lock:campaign:", campaign);
  }
  // A list the daemon deals a big contacts_key list into before the finish script moves it into
  // place (expires by itself when the daemon dies in between).
  std::string staging(std::string_view token, std::uint64_t seq, std::size_t target) const {
    return cat(p_, "wa:staging:", token, ":", std::to_string(seq), ":", std::to_string(target));
  }
  // Stage lists waiting to be appended to a dispatch list that already existed when their job
  // was finished (zset: member "<stage length>:<stage><dispatch list>", scored by ms).
  std::string appending() const { return p_ + "wa:appending"; }
  std::string health_lock() const { return p_ + "wa:lock:health"; }
  std::string pacer_lock() const { return p_ + "wa:lock:pacer"; }
  std::string events_lock() const { return p_ + "wa:lock:events"; }
  std::string events_malformed() const { return p_ + "wa:stats:events:malformed"; }
  // Parts of an event batch not applied yet (queue/scripts.hpp apply_events_script).
  std::string events_staged() const { return p_ + "wa:events:staged"; }

 private:
  // One allocation for the whole key (the keys are built for every job).
  template <typename... Parts>
  static std::string cat(const Parts&... parts) {
    std::string out;
    out.reserve((std::string_view(parts).size() + ...));
    (out.append(std::string_view(parts)), ...);
    return out;
  }

  std::string p_;
  std::string q_;
};

}  // namespace wa::queue
