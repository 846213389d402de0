#include "core/sticky.hpp"

#include <algorithm>
#include <unordered_map>

#include "core/balance.hpp"

namespace wa::core {

std::vector<std::uint64_t> fill_shares(std::uint64_t n, std::span<const double> weights,
                                       std::span<const std::uint64_t> sticky) {
  const std::size_t k = weights.size();
  std::vector<std::uint64_t> fresh(k, 0);
  std::vector<std::size_t> open(k);  // sessions that may still get new contacts
  for (std::size_t i = 0; i < k; ++i)
    open[i] = i;
  std::uint64_t left = n;  // n minus the sticky contacts of the sessions closed so far
  while (!open.empty()) {
    std::vector<double> w(open.size());
    for (std::size_t j = 0; j < open.size(); ++j)
      w[j] = weights[open[j]];
    const auto share = largest_remainder(left, w);
    bool past = false;
    for (std::size_t j = 0; j < open.size(); ++j)
      past = past || sticky[open[j]] > share[j];
    if (!past) {  // every open session is at or below its share: fill each up to it
      for (std::size_t j = 0; j < open.size(); ++j)
        fresh[open[j]] = share[j] - sticky[open[j]];
      break;
    }
    // Sessions past (or with sticky contacts at) their share are closed with what they hold;
    // the shares of the others are computed again over what is left.
    std::vector<std::size_t> still;
    for (std::size_t j = 0; j < open.size(); ++j) {
      const std::uint64_t s = sticky[open[j]];
      if (s > 0 && s >= share[j]) {
        left -= std::min(left, s);
      } else {
        still.push_back(open[j]);
      }
    }
    open = std::move(still);
  }
  return fresh;
}

namespace {

std::vector<double> weights_of(std::span<const Session* const> sessions, TemplateMode mode,
                               const config::LoadBalancing& lb) {
  std::vector<double> w(sessions.size());
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    w[i] = lb.strategy == config::Strategy::health_score ? static_cast<double>(sessions[i]->health)
                                                         : session_capacity(*sessions[i], mode, lb);
  }
  return w;
}

}  // namespace

StickyAllocation allocate_sticky(std::span<const std::uint16_t> sticky,
                                 std::span<const Session* const> sessions, TemplateMode mode,
                                 const config::LoadBalancing& lb) {
  const std::size_t k = sessions.size();
  StickyAllocation a;
  a.counts.assign(k, 0);
  a.owner.assign(sticky.size(), kNotSticky);
  if (k == 0) return a;
  for (std::size_t p = 0; p < sticky.size(); ++p) {
    if (sticky[p] < k) {
      a.owner[p] = sticky[p];
      ++a.counts[sticky[p]];
    }
  }
  const bool rr = lb.strategy == config::Strategy::round_robin;
  std::vector<std::uint64_t> fresh;
  if (!rr) fresh = fill_shares(sticky.size(), weights_of(sessions, mode, lb), a.counts);
  std::size_t cursor = 0;  // round robin: the turn; else the session whose block is being filled
  std::uint64_t dealt = 0;
  for (std::size_t p = 0; p < sticky.size(); ++p) {
    if (a.owner[p] != kNotSticky) continue;
    if (rr) {
      a.owner[p] = static_cast<std::uint16_t>(dealt++ % k);
    } else {
      while (cursor < k && fresh[cursor] == 0)
        ++cursor;
      a.owner[p] = static_cast<std::uint16_t>(cursor);
      --fresh[cursor];
    }
    ++a.counts[a.owner[p]];
  }
  return a;
}

std::vector<std::uint16_t> sticky_positions(const StickyContacts& sc,
                                            std::span<const Session* const> eligible) {
  if (!sc.any() || eligible.size() >= kNotSticky) return {};
  std::unordered_map<std::string_view, std::uint16_t> index;
  for (std::size_t i = 0; i < eligible.size(); ++i)
    index.emplace(eligible[i]->id, static_cast<std::uint16_t>(i));
  std::vector<std::uint16_t> map(sc.sessions.size(), kNotSticky);
  bool any = false;
  for (std::size_t j = 0; j < sc.sessions.size(); ++j) {
    const auto it = index.find(sc.sessions[j]);
    if (it != index.end()) {
      map[j] = it->second;
      any = true;
    }
  }
  if (!any) return {};
  std::vector<std::uint16_t> out(sc.at.size(), kNotSticky);
  for (std::size_t p = 0; p < sc.at.size(); ++p) {
    if (sc.at[p] < map.size()) out[p] = map[sc.at[p]];
  }
  return out;
}

}  // namespace wa::core
