// Every Redis key and channel of CONTRACT.md, with the configured prefix applied. Keys the daemon
// writes *into JSON* (a distribution entry's `key`) are built without the prefix by core/.
#pragma once

#include <string>
#include <string_view>

namespace wa::queue {

class Keys {
 public:
  Keys(std::string prefix, std::string queue_name)
      : p_(std::move(prefix)), q_(p_ + "queues:" + queue_name) {}

  const std::string& prefix() const noexcept { return p_; }
  std::string with_prefix(std::string_view k) const { return p_ + std::string(k); }

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
    return p_ + "wa:workspace:" + std::string(ws) + ":sessions";
  }
  std::string workspace_meta(std::string_view ws) const {
    return p_ + "wa:workspace:" + std::string(ws) + ":meta";
  }
  std::string session(std::string_view id) const { return p_ + "wa:session:" + std::string(id); }
  std::string events() const { return p_ + "wa:events"; }

  // Section 4: outputs.
  std::string dispatch(std::string_view campaign, std::string_view target) const {
    return p_ + "wa:dispatch:" + std::string(campaign) + ":" + std::string(target);
  }
  std::string decision(std::string_view campaign) const {
    return p_ + "wa:campaign:" + std::string(campaign) + ":decision";
  }
  std::string results() const { return p_ + "wa:results"; }
  std::string active() const { return p_ + "wa:campaigns:active"; }
  std::string alerts() const { return p_ + "wa:alerts"; }
  // Marker of a decided job_id and attempt (exactly-once outputs). The attempt of a payload that
  // could not be parsed, and of a poison job, are these words.
  static constexpr std::string_view kBadAttempt = "bad";
  static constexpr std::string_view kPoisonAttempt = "poison";
  std::string decided(std::string_view job_id, std::string_view attempt) const {
    return p_ + "wa:decided:" + std::string(job_id) + ":" + std::string(attempt);
  }

  // The daemon's own state.
  std::string session_stats(std::string_view id) const {
    return p_ + "wa:stats:session:" + std::string(id);
  }
  std::string session_health(std::string_view id) const {
    return p_ + "wa:health:" + std::string(id);
  }
  std::string daily(std::string_view ws, std::string_view provider, std::string_view day) const {
    return p_ + "wa:stats:daily:" + std::string(ws) + ":" + std::string(provider) + ":" +
           std::string(day);
  }
  std::string switch_reported(std::string_view campaign) const {
    return p_ + "wa:campaign:" + std::string(campaign) + ":switch_reported";
  }
  std::string campaign_lock(std::string_view campaign) const {
    return p_ + "wa:lock:campaign:" + std::string(campaign);
  }
  std::string health_lock() const { return p_ + "wa:lock:health"; }
  std::string events_lock() const { return p_ + "wa:lock:events"; }
  std::string events_malformed() const { return p_ + "wa:stats:events:malformed"; }

 private:
  std::string p_;
  std::string q_;
};

}  // namespace wa::queue
