// Stage lists: a big job's contacts copied into per-target lists in bounded commands, before the
// finish script moves each into place with one RENAME (or registers it for bounded appends).
#include <algorithm>
#include <deque>
#include <memory>

#include "queue/job_queue.hpp"
#include "queue/outputs.hpp"

namespace wa::queue {

namespace {

constexpr std::uint64_t kChunk = 5000;  // elements per LRANGE, and per RPUSH of inline contacts

// The positions of `s` that fall in [pos, pos + n): the first index k and one past the last.
std::pair<std::uint64_t, std::uint64_t> in_chunk(const core::Slice& s, std::uint64_t pos,
                                                 std::uint64_t n) {
  if (s.count == 0 || s.stride == 0) return {0, 0};
  const auto first_at_or_after = [&](std::uint64_t p) -> std::uint64_t {
    return p <= s.first ? 0 : (p - s.first + s.stride - 1) / s.stride;
  };
  const std::uint64_t k0 = std::min(s.count, first_at_or_after(pos));
  const std::uint64_t k1 = std::min(s.count, first_at_or_after(pos + n));
  return {k0, std::max(k0, k1)};
}

struct StagePlan {
  std::vector<core::Slice> slices;
  std::vector<std::string> stages;
  long long ttl = 0;
  const StageOwners* owners = nullptr;
};

// A write whose reply is not checked (a sticky HSET: stickiness is a preference, never a reason
// to hold a campaign).
constexpr std::size_t kUnchecked = static_cast<std::size_t>(-1);

// One chunk's writes: for each stage its RPUSH (and an EXPIRE), and which stage each serves.
struct Dealt {
  redis::Wire writes;
  std::vector<std::size_t> served;  // the stage a write serves, or the stage count for EXPIRE
  std::uint64_t n = 0;              // elements in the chunk
};

// Writes the chunk [pos, pos + n) of the elements `at(c)` into the stages.
template <typename At>
void deal_chunk(Dealt& d, const StagePlan& plan, std::uint64_t pos, std::uint64_t n, At at) {
  const std::size_t k = plan.stages.size();
  d.n = n;
  d.writes.reserve(n * 24 + k * 128);
  for (std::size_t j = 0; j < k; ++j) {
    const core::Slice& s = plan.slices[j];
    const auto [k0, k1] = in_chunk(s, pos, n);
    if (k0 == k1) continue;
    d.writes.command(2 + (k1 - k0));
    d.writes.arg("RPUSH");
    d.writes.arg(plan.stages[j]);
    for (std::uint64_t m = k0; m < k1; ++m)
      d.writes.arg(at(s.position(m) - pos));
    d.served.push_back(j);
    d.writes.command(3);
    d.writes.arg("EXPIRE");
    d.writes.arg(plan.stages[j]);
    d.writes.arg(plan.ttl);
    d.served.push_back(k);
  }
}

// The chunk's sticky writes: contact -> session for every contact of a session's stage.
template <typename At>
void deal_sticky(Dealt& d, const StagePlan& plan, std::uint64_t pos, std::uint64_t n, At at) {
  const StageOwners& o = *plan.owners;
  if (o.sticky_key.empty()) return;
  std::vector<std::uint32_t> cs;
  for (std::uint64_t c = 0; c < n; ++c) {
    const std::uint16_t j = o.owner[pos + c];
    if (pos + c < o.unchanged.size() && o.unchanged[pos + c]) continue;
    if (j < o.sessions.size() && !o.sessions[j].empty())
      cs.push_back(static_cast<std::uint32_t>(c));
  }
  for (std::size_t from = 0; from < cs.size(); from += kStickyFieldsPerCommand) {
    const std::size_t to = std::min(cs.size(), from + kStickyFieldsPerCommand);
    d.writes.command(2 + 2 * (to - from));
    d.writes.arg("HSET");
    d.writes.arg(o.sticky_key);
    for (std::size_t m = from; m < to; ++m) {
      d.writes.arg(at(cs[m]));
      d.writes.arg(o.sessions[o.owner[pos + cs[m]]]);
    }
    d.served.push_back(kUnchecked);
  }
}

// deal_chunk by owner: stage j gets the chunk's positions whose owner is j, in order.
template <typename At>
void deal_owned(Dealt& d, const StagePlan& plan, std::uint64_t pos, std::uint64_t n, At at) {
  const std::size_t k = plan.stages.size();
  const std::vector<std::uint16_t>& owner = plan.owners->owner;
  d.n = n;
  d.writes.reserve(n * 48 + k * 128);
  std::vector<std::vector<std::uint32_t>> by(k);
  for (std::uint64_t c = 0; c < n; ++c) {
    if (pos + c < owner.size() && owner[pos + c] < k)
      by[owner[pos + c]].push_back(static_cast<std::uint32_t>(c));
  }
  for (std::size_t j = 0; j < k; ++j) {
    if (by[j].empty()) continue;
    d.writes.command(2 + by[j].size());
    d.writes.arg("RPUSH");
    d.writes.arg(plan.stages[j]);
    for (const std::uint32_t c : by[j])
      d.writes.arg(at(c));
    d.served.push_back(j);
    d.writes.command(3);
    d.writes.arg("EXPIRE");
    d.writes.arg(plan.stages[j]);
    d.writes.arg(plan.ttl);
    d.served.push_back(k);
  }
  deal_sticky(d, plan, pos, n, at);
}

template <typename At>
void deal(Dealt& d, const StagePlan& plan, std::uint64_t pos, std::uint64_t n, At at) {
  if (plan.owners != nullptr) {
    deal_owned(d, plan, pos, n, at);
  } else {
    deal_chunk(d, plan, pos, n, at);
  }
}

redis::Visitor deal_into(std::shared_ptr<Dealt> d, std::shared_ptr<const StagePlan> plan,
                         std::uint64_t pos) {
  return [d = std::move(d), plan = std::move(plan), pos](std::size_t, redis::ReplyView r) {
    if (!r.is_array()) return;
    deal(*d, *plan, pos, r.size(), [&](std::uint64_t c) { return r[c].str(); });
  };
}

// Writes in flight, each checked when its replies come: every stage's length, or a failure.
class Writes {
 public:
  Writes(redis::Connection& conn, std::size_t stages) : conn_(conn), lens_(stages, 0) {}
  void push(Dealt&& d) {
    q_.emplace_back(Pending(conn_, std::move(d.writes)), std::move(d.served));
  }
  asio::awaitable<void> settle(std::size_t keep) {
    while (q_.size() > keep) {
      const std::vector<Reply> replies = co_await q_.front().first.get();
      const std::vector<std::size_t>& served = q_.front().second;
      for (std::size_t n = 0; n < replies.size(); ++n) {
        if (served[n] == kUnchecked) {
          continue;
        } else if (replies[n].is_error()) {
          ok_ = false;
        } else if (served[n] < lens_.size()) {
          lens_[served[n]] = static_cast<std::uint64_t>(std::max(0LL, int_or(replies[n])));
        }
      }
      q_.pop_front();
    }
  }
  bool ok() const noexcept { return ok_; }
  const std::vector<std::uint64_t>& lens() const noexcept { return lens_; }

 private:
  redis::Connection& conn_;
  std::deque<std::pair<Pending, std::vector<std::size_t>>> q_;
  std::vector<std::uint64_t> lens_;
  bool ok_ = true;
};

// Reads ahead and writes in flight while a chunk is dealt, so that Redis always has work queued.
constexpr std::size_t kDepth = 3;

asio::awaitable<std::optional<std::vector<std::uint64_t>>> finish_staging(
    redis::Connection& conn, Writes& writes, bool ok, const std::vector<std::string>& stages) {
  co_await writes.settle(0);
  if (ok && writes.ok()) co_return writes.lens();
  Command del{"DEL"};
  del.insert(del.end(), stages.begin(), stages.end());
  (void)co_await run1(conn, plain(std::move(del)));
  co_return std::nullopt;
}

}  // namespace

asio::awaitable<std::optional<std::vector<std::uint64_t>>> JobQueue::stage_slices(
    const std::string& src, std::uint64_t count, const std::vector<core::Slice>& slices,
    const std::vector<std::string>& stages, std::int64_t ttl_seconds,
    const StageOwners* owners) const {
  auto plan = std::make_shared<const StagePlan>(StagePlan{slices, stages, ttl_seconds, owners});
  struct Read {
    Pending reply;
    std::shared_ptr<Dealt> dealt;
  };
  const auto read = [&](std::uint64_t pos) {
    auto d = std::make_shared<Dealt>();
    redis::Wire w;
    w.command(4);
    w.arg("LRANGE");
    w.arg(src);
    w.arg(static_cast<long long>(pos));
    w.arg(static_cast<long long>(std::min(count, pos + kChunk) - 1));
    return Read{Pending(conn_, std::move(w), deal_into(d, plan, pos)), d};
  };
  Writes writes(conn_, stages.size());
  std::deque<Read> reads;
  std::uint64_t asked = 0;
  bool ok = !stages.empty() && slices.size() == stages.size();
  for (std::uint64_t pos = 0; ok && pos < count; pos += kChunk) {
    while (asked < count && reads.size() < kDepth) {
      reads.push_back(read(asked));
      asked = std::min(count, asked + kChunk);
    }
    std::vector<Reply> r = co_await reads.front().reply.get();
    const std::shared_ptr<Dealt> dealt = std::move(reads.front().dealt);
    reads.pop_front();
    // Not a list, or shorter than counted: the job is decided again later.
    ok = r.size() == 1 && r[0].is_array() && dealt->n == std::min(count, pos + kChunk) - pos;
    if (!ok) break;
    writes.push(std::move(*dealt));
    co_await writes.settle(kDepth);
  }
  while (!reads.empty()) {  // (stopped early: their replies are not needed)
    (void)co_await reads.front().reply.get();
    reads.pop_front();
  }
  auto lens = co_await finish_staging(conn_, writes, ok, stages);
  co_return lens;
}

asio::awaitable<std::optional<std::vector<std::uint64_t>>> JobQueue::stage_inline(
    const std::vector<std::string>& contacts, const std::vector<core::Slice>& slices,
    const std::vector<std::string>& stages, std::int64_t ttl_seconds,
    const StageOwners* owners) const {
  const StagePlan plan{slices, stages, ttl_seconds, owners};
  Writes writes(conn_, stages.size());
  const std::uint64_t count = contacts.size();
  for (std::uint64_t pos = 0; pos < count; pos += kChunk) {
    Dealt d;
    deal(d, plan, pos, std::min(kChunk, count - pos),
         [&](std::uint64_t c) -> const std::string& { return contacts[pos + c]; });
    writes.push(std::move(d));
    co_await writes.settle(kDepth);
  }
  auto lens = co_await finish_staging(conn_, writes, true, stages);
  co_return lens;
}

}  // namespace wa::queue
