#include "core/switching.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "core/json_writer.hpp"

namespace wa::core {

std::vector<SwitchMove> plan_switches(const CampaignSpec& spec,
                                      std::span<const TargetState> targets, const WorkspaceView& ws,
                                      const config::Config& cfg) {
  std::vector<SwitchMove> moves;
  for (const TargetState& t : targets) {
    if (t.target == "meta_api" || t.remaining == 0) continue;
    const auto it = std::find_if(ws.sessions.begin(), ws.sessions.end(),
                                 [&](const Session& s) { return s.id == t.target; });
    const Session* session = it == ws.sessions.end() ? nullptr : &*it;
    const auto reason = switch_break(session, cfg.selection.switch_thresholds);
    if (!reason) continue;
    SwitchMove m;
    m.from = t.target;
    m.reason = *reason;
    m.decision = decide(spec, t.remaining, ws, cfg);
    m.moved = m.decision.type == DecisionType::queue ? 0 : t.remaining;
    moves.push_back(std::move(m));
  }
  return moves;
}

void apply_move(std::vector<DistributionEntry>& distribution, const SwitchMove& move) {
  if (move.moved == 0) return;
  auto from = std::find_if(distribution.begin(), distribution.end(),
                           [&](const DistributionEntry& e) { return e.target == move.from; });
  if (from != distribution.end()) {
    from->count -= std::min(from->count, move.moved);
    if (from->count == 0) distribution.erase(from);
  }
  for (const Target& to : move.decision.distribution) {
    auto it = std::find_if(distribution.begin(), distribution.end(),
                           [&](const DistributionEntry& e) { return e.target == to.target; });
    if (it == distribution.end()) {
      distribution.push_back({to.target, to.slice.count});
    } else {
      it->count += to.slice.count;
    }
  }
}

MovePlan plan_of(const SwitchMove& move, std::string session_json) {
  MovePlan p;
  p.from = move.from;
  p.reason = move.reason;
  p.total = move.moved;
  for (const Target& t : move.decision.distribution)
    p.to.push_back({t.target, t.slice});
  if (!session_json.empty()) p.session = std::move(session_json);
  return p;
}

namespace {

// The number of positions of `s` below `pos`.
std::uint64_t below(const Slice& s, std::uint64_t pos) {
  if (s.count == 0 || pos <= s.first) return 0;
  const std::uint64_t stride = std::max<std::uint64_t>(1, s.stride);
  return std::min(s.count, (pos - s.first + stride - 1) / stride);
}

}  // namespace

Slice slice_within(const Slice& s, std::uint64_t from, std::uint64_t to) {
  Slice out{0, s.stride, 0};
  if (to <= from) return out;
  const std::uint64_t lo = below(s, from), hi = below(s, to);
  if (hi <= lo) return out;
  out.first = s.position(lo) - from;
  out.count = hi - lo;
  return out;
}

MoveStep next_step(const MovePlan& plan, std::uint64_t max_count) {
  MoveStep step;
  step.offset = std::min(plan.done, plan.total);
  step.count = std::min(std::max<std::uint64_t>(1, max_count), plan.total - step.offset);
  for (const MoveTarget& t : plan.to) {
    const Slice part = slice_within(t.slice, step.offset, step.offset + step.count);
    if (part.count > 0) step.shares.push_back({t.target, part});
  }
  step.last = step.offset + step.count == plan.total;
  return step;
}

void advance(MovePlan& plan, const MoveStep& step) {
  plan.done = step.offset + step.count;
}

void cut_plan(MovePlan& plan, std::uint64_t total) {
  plan.total = std::max(plan.done, std::min(plan.total, total));
  for (MoveTarget& t : plan.to)
    t.slice.count = below(t.slice, plan.total);
}

namespace {

void add_to(std::vector<DistributionEntry>& distribution, const std::string& target,
            std::uint64_t count) {
  if (count == 0) return;
  auto it = std::find_if(distribution.begin(), distribution.end(),
                         [&](const DistributionEntry& e) { return e.target == target; });
  if (it == distribution.end()) {
    distribution.push_back({target, count});
  } else {
    it->count += count;
  }
}

void take_from(std::vector<DistributionEntry>& distribution, const std::string& target,
               std::uint64_t count) {
  auto it = std::find_if(distribution.begin(), distribution.end(),
                         [&](const DistributionEntry& e) { return e.target == target; });
  if (it == distribution.end()) return;
  it->count -= std::min(it->count, count);
  if (it->count == 0) distribution.erase(it);
}

}  // namespace

void apply_step(std::vector<DistributionEntry>& distribution, const std::string& from,
                const MoveStep& step) {
  if (step.count == 0) return;
  take_from(distribution, from, step.count);
  for (const StepShare& s : step.shares)
    add_to(distribution, s.target, s.slice.count);
}

SwitchMove record_of(const MovePlan& plan) {
  SwitchMove m;
  m.from = plan.from;
  m.reason = plan.reason;
  m.moved = plan.total;
  m.decision.type = DecisionType::meta_api;
  for (const MoveTarget& t : plan.to) {
    if (t.slice.count == 0) continue;
    m.decision.distribution.push_back({t.target, nullptr, t.slice});
    if (t.target != "meta_api") m.decision.type = DecisionType::webjs;
  }
  return m;
}

std::string progress_json(const MovePlan& plan) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .member("from", plan.from)
      .member("reason", to_string(plan.reason))
      .member("total", plan.total)
      .member("done", plan.done)
      .key("to")
      .begin_array();
  for (const MoveTarget& t : plan.to) {
    w.begin_object()
        .member("target", t.target)
        .member("first", t.slice.first)
        .member("stride", t.slice.stride)
        .member("count", t.slice.count)
        .end_object();
  }
  w.end_array().key("session").raw(plan.session.empty() ? std::string_view("null") : plan.session);
  w.end_object();
  return out;
}

namespace {

namespace json = boost::json;

std::optional<std::uint64_t> count_of(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return std::nullopt;
}

std::optional<MoveTarget> target_of(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  const json::value* target = o.if_contains("target");
  const auto first = count_of(o, "first"), stride = count_of(o, "stride"),
             count = count_of(o, "count");
  if (target == nullptr || !target->is_string() || !first || !stride || *stride == 0 || !count) {
    return std::nullopt;
  }
  return MoveTarget{std::string(target->get_string()), {*first, *stride, *count}};
}

// Every slice within [0, total), the slices covering total positions.
bool covers(const MovePlan& p) {
  std::uint64_t sum = 0;
  for (const MoveTarget& t : p.to) {
    const Slice& s = t.slice;
    if (s.count > 0 && (s.first >= p.total || (s.count - 1) > (p.total - 1 - s.first) / s.stride)) {
      return false;
    }
    sum += s.count;
  }
  return sum == p.total && p.done <= p.total;
}

}  // namespace

std::optional<MovePlan> parse_progress(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  MovePlan p;
  const json::value* from = o.if_contains("from");
  const json::value* reason = o.if_contains("reason");
  const json::value* to = o.if_contains("to");
  const auto total = count_of(o, "total"), done = count_of(o, "done");
  if (from == nullptr || !from->is_string() || reason == nullptr || !reason->is_string() ||
      to == nullptr || !to->is_array() || !total || !done) {
    return std::nullopt;
  }
  const auto r = switch_reason_of(reason->get_string());
  if (!r) return std::nullopt;
  p.from = from->get_string();
  p.reason = *r;
  p.total = *total;
  p.done = *done;
  for (const json::value& e : to->get_array()) {
    auto t = target_of(e);
    if (!t) return std::nullopt;
    p.to.push_back(std::move(*t));
  }
  const json::value* session = o.if_contains("session");
  p.session = session == nullptr ? "null" : json::serialize(*session);
  if (!covers(p)) return std::nullopt;
  return p;
}

std::optional<ReadyItem> parse_ready_item(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* id = v.get_object().if_contains("campaign_id");
  const json::value* contact = v.get_object().if_contains("contact");
  if (id == nullptr || contact == nullptr || !contact->is_string()) return std::nullopt;
  ReadyItem item{"", std::string(contact->get_string())};
  if (id->is_string()) {
    item.campaign = id->get_string();
  } else if (id->is_int64() && id->get_int64() >= 0) {
    item.campaign = std::to_string(id->get_int64());
  } else if (id->is_uint64()) {
    item.campaign = std::to_string(id->get_uint64());
  }
  if (item.campaign.empty()) return std::nullopt;
  return item;
}

std::map<std::string, std::uint64_t> ready_counts(std::span<const std::string> items) {
  std::map<std::string, std::uint64_t> out;
  for (const std::string& text : items) {
    if (auto item = parse_ready_item(text)) ++out[item->campaign];
  }
  return out;
}

std::optional<SwitchReason> switch_reason_of(std::string_view name) {
  for (const SwitchReason r :
       {SwitchReason::disconnected, SwitchReason::health_below_threshold,
        SwitchReason::error_rate_above_threshold, SwitchReason::response_time_above_threshold}) {
    if (to_string(r) == name) return r;
  }
  return std::nullopt;
}

}  // namespace wa::core
