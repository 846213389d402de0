#include "core/switching.hpp"

#include <algorithm>

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

}  // namespace wa::core
