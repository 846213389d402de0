#include "core/plan.hpp"

#include "core/backoff.hpp"
#include "core/records.hpp"

namespace wa::core {

std::string_view to_string(DeadCause c) noexcept {
  switch (c) {
    case DeadCause::bad_payload:
      return "bad_payload";
    case DeadCause::poison:
      return "poison";
    case DeadCause::permanent:
      return "permanent";
    case DeadCause::max_attempts:
      return "max_attempts";
    case DeadCause::write_failed:
      return "write_failed";
    case DeadCause::bad_contacts_key:
      return "bad_contacts_key";
    case DeadCause::unstable_contacts:
      return "unstable_contacts";
  }
  return "unknown";
}

namespace {

// The dead entry and, when the campaign_id can be read, the dead event (section 5).
void make_dead(JobPlan& p, std::string_view payload, const ParsedJob& pj, DeadCause cause,
               std::string error, Seconds now) {
  p.dead = cause;
  p.dead_entry = dead_entry_json(payload, error, now);
  if (pj.campaign_id) {
    p.results.push_back(dead_event_json(pj.job_id, *pj.campaign_id, pj.workspace_id, error, now));
  }
  p.dead_error = std::move(error);
}

ParsedJob parsed_of(const Job& job) {
  ParsedJob pj;
  pj.job_id = job.job_id;
  pj.campaign_id = job.campaign_id;
  pj.workspace_id = job.workspace_id;
  return pj;
}

void make_retry(JobPlan& p, std::string_view payload, const Job& job, const RetryPlan& r,
                Seconds now) {
  p.retry_due = now + r.delay_seconds;
  p.retry_in = r.delay_seconds;
  p.retry_payload = rewrite_payload(payload, job.job_id_derived ? job.job_id : "", r.attempts);
}

}  // namespace

JobPlan plan_poison(std::string_view payload, const ParsedJob& pj, std::int64_t max_deliveries,
                    Seconds now) {
  JobPlan p;
  p.marker_attempt = "poison";
  make_dead(p, payload, pj, DeadCause::poison,
            "lease expired " + std::to_string(max_deliveries) +
                " times without acknowledgement (poison job)",
            now);
  return p;
}

JobPlan plan_bad(std::string_view payload, const ParsedJob& pj, Seconds now) {
  JobPlan p;
  p.marker_attempt = "bad";
  make_dead(p, payload, pj, DeadCause::bad_payload, pj.error, now);
  return p;
}

JobPlan plan_rejected(std::string_view payload, const ParsedJob& pj, DeadCause cause,
                      std::string error, Seconds now) {
  JobPlan p;
  p.marker_attempt = pj.job ? std::to_string(pj.job->attempts) : "bad";
  make_dead(p, payload, pj, cause, std::move(error), now);
  return p;
}

JobPlan plan_decided(std::string_view payload, const Job& job, const Decision& d,
                     std::span<const std::string_view> warnings, Seconds now,
                     const config::Retry& retry, double unit) {
  JobPlan p;
  p.marker_attempt = std::to_string(job.attempts);
  p.type = d.type;
  p.reason = d.reason;
  if (d.type != DecisionType::queue) {
    for (const Target& t : d.distribution)
      p.dispatch.push_back({t.target, t.slice});
    p.owner = d.owner;
    p.decision = decision_json(job, d, now, std::nullopt, warnings);
    p.results.push_back(p.decision);
    return p;
  }
  const RetryPlan r = plan_retry(job.attempts, d.permanent, retry, unit);
  if (!r.dead) {
    make_retry(p, payload, job, r, now);
    p.results.push_back(decision_json(job, d, now, *p.retry_due, warnings));
    return p;
  }
  p.results.push_back(decision_json(job, d, now, std::nullopt, warnings));
  std::string error = d.permanent
                          ? "template.status: " + std::string(to_string(job.tmpl->status)) +
                                " templates can never be approved"
                          : "not served after " + std::to_string(r.attempts) +
                                " attempts (last reason: " + std::string(to_string(d.reason)) + ")";
  make_dead(p, payload, parsed_of(job),
            d.permanent ? DeadCause::permanent : DeadCause::max_attempts, std::move(error), now);
  return p;
}

JobPlan plan_unstable(std::string_view payload, const Job& job, std::string_view why, Seconds now,
                      const config::Retry& retry, double unit) {
  JobPlan p;
  p.marker_attempt = std::to_string(job.attempts);
  const RetryPlan r = plan_retry(job.attempts, false, retry, unit);
  if (!r.dead) {
    make_retry(p, payload, job, r, now);
    return p;
  }
  make_dead(p, payload, parsed_of(job), DeadCause::unstable_contacts,
            "not served after " + std::to_string(r.attempts) + " attempts: " + std::string(why),
            now);
  return p;
}

}  // namespace wa::core
