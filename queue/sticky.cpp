#include "queue/sticky.hpp"

#include <deque>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "queue/exec.hpp"

namespace wa::queue {

namespace {

struct ViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// Builds a StickyContacts position by position: one session name per distinct id.
class Interner {
 public:
  explicit Interner(std::size_t n) { out_.at.assign(n, core::kNotSticky); }
  // Position `p` is sticky to `session` ("" or a nil reply: not sticky).
  void set(std::size_t p, std::string_view session) {
    if (session.empty() || p >= out_.at.size()) return;
    const auto it = index_.find(session);
    if (it != index_.end()) {
      out_.at[p] = it->second;
    } else if (out_.sessions.size() + 1 < core::kNotSticky) {  // (more than any workspace has)
      const auto n = static_cast<std::uint16_t>(out_.sessions.size());
      out_.sessions.emplace_back(session);
      index_.emplace(out_.sessions.back(), n);
      out_.at[p] = n;
    }
  }
  // An HMGET's reply for the positions from `p` on. Not an array (a hash of another type): none.
  void set_all(std::size_t p, redis::ReplyView r) {
    if (r.type() == Reply::Type::error && out_.error.empty()) out_.error = r.str();
    if (!r.is_array()) return;
    for (std::size_t e = 0; e < r.size(); ++e) {
      const redis::ReplyView v = r[e];
      if (v.type() == Reply::Type::string) set(p + e, v.str());
    }
  }
  core::StickyContacts take() { return std::move(out_); }

 private:
  core::StickyContacts out_;
  std::unordered_map<std::string, std::uint16_t, ViewHash, std::equal_to<>> index_;
};

// HMGET key f1 f2 ... for the elements [from, to) of `ids`.
template <typename Ids>
void hmget(redis::Wire& w, const std::string& key, const Ids& ids, std::size_t from,
           std::size_t to) {
  w.command(2 + to - from);
  w.arg("HMGET");
  w.arg(key);
  for (std::size_t e = from; e < to; ++e)
    w.arg(std::string_view(ids[e]));
}

}  // namespace

asio::awaitable<std::vector<core::StickyContacts>> read_sticky(
    redis::Connection& conn, const std::vector<StickyRead>& reads) {
  // One pipeline of HMGETs; each reply is interned in place, at its read and first position.
  std::vector<std::shared_ptr<Interner>> ins;
  auto at = std::make_shared<std::vector<std::pair<std::size_t, std::size_t>>>();
  redis::Wire w;
  for (std::size_t k = 0; k < reads.size(); ++k) {
    const auto& cs = *reads[k].contacts;
    ins.push_back(std::make_shared<Interner>(cs.size()));
    for (std::size_t from = 0; from < cs.size(); from += kStickyReadChunk) {
      hmget(w, reads[k].key, cs, from, std::min(cs.size(), from + kStickyReadChunk));
      at->emplace_back(k, from);
    }
  }
  if (w.commands() > 0) {
    auto visit = [ins, at](std::size_t i, redis::ReplyView r) {
      ins[(*at)[i].first]->set_all((*at)[i].second, r);
    };
    (void)co_await Pending(conn, std::move(w), std::move(visit)).get();
  }
  std::vector<core::StickyContacts> out;
  for (const auto& in : ins)
    out.push_back(in->take());
  co_return out;
}

namespace {

// One chunk of the list: its LRANGE, whose visitor writes the HMGETs of its elements.
struct ListChunk {
  Pending lrange;
  std::shared_ptr<redis::Wire> lookups;
};

ListChunk read_chunk(redis::Connection& conn, const std::string& key, const std::string& src,
                     std::uint64_t from, std::uint64_t to) {
  redis::Wire w;
  w.command(4);
  w.arg("LRANGE");
  w.arg(src);
  w.arg(static_cast<long long>(from));
  w.arg(static_cast<long long>(to) - 1);
  auto lookups = std::make_shared<redis::Wire>();
  auto visit = [lookups, key](std::size_t, redis::ReplyView r) {
    if (!r.is_array()) return;
    struct Ids {
      redis::ReplyView r;
      std::string_view operator[](std::size_t e) const { return r[e].str(); }
    } ids{r};
    lookups->reserve(r.size() * 16 + 64);
    for (std::size_t e = 0; e < r.size(); e += kStickyReadChunk)
      hmget(*lookups, key, ids, e, std::min(r.size(), e + kStickyReadChunk));
  };
  return {Pending(conn, std::move(w), std::move(visit)), lookups};
}

// The HMGETs of the chunk from `pos`: each reply is interned as it is read.
Pending look_up(redis::Connection& conn, redis::Wire lookups, std::shared_ptr<Interner> in,
                std::uint64_t pos) {
  auto visit = [in = std::move(in), pos](std::size_t i, redis::ReplyView r) {
    in->set_all(pos + i * kStickyReadChunk, r);
  };
  return Pending(conn, std::move(lookups), std::move(visit));
}

}  // namespace

asio::awaitable<core::StickyContacts> read_sticky_list(redis::Connection& conn,
                                                       const std::string& key,
                                                       const std::string& src,
                                                       std::uint64_t count) {
  constexpr std::size_t kDepth = 3;
  auto in = std::make_shared<Interner>(count);
  std::deque<ListChunk> reads;
  std::deque<Pending> lookups;
  std::uint64_t asked = 0;
  for (std::uint64_t pos = 0; pos < count; pos += kStickyListChunk) {
    while (asked < count && reads.size() < kDepth) {
      reads.push_back(read_chunk(conn, key, src, asked, std::min(count, asked + kStickyListChunk)));
      asked = std::min(count, asked + kStickyListChunk);
    }
    (void)co_await reads.front().lrange.get();
    const std::shared_ptr<redis::Wire> w = std::move(reads.front().lookups);
    reads.pop_front();
    // (A list shorter than counted, or not a list: its missing positions are not sticky; the
    // staging that follows finds the list changed.)
    if (w->commands() > 0) lookups.push_back(look_up(conn, std::move(*w), in, pos));
    while (lookups.size() > kDepth) {
      (void)co_await lookups.front().get();
      lookups.pop_front();
    }
  }
  for (; !lookups.empty(); lookups.pop_front())
    (void)co_await lookups.front().get();
  co_return in->take();
}

}  // namespace wa::queue
