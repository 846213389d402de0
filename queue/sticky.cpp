#include "queue/sticky.hpp"

#include <deque>
#include <string_view>
#include <unordered_map>

#include "queue/exec.hpp"

namespace wa::queue {

namespace {

// Builds a StickyContacts from HMGET-like replies, one session name per distinct id.
class Interner {
 public:
  void add(const Reply& r) {
    if (!r.is_string() || r.str.empty()) {
      out_.at.push_back(core::kNotSticky);
      return;
    }
    const auto it = index_.find(r.str);
    if (it != index_.end()) {
      out_.at.push_back(it->second);
      return;
    }
    if (out_.sessions.size() + 1 >= core::kNotSticky) {  // (more sessions than any workspace has)
      out_.at.push_back(core::kNotSticky);
      return;
    }
    const auto n = static_cast<std::uint16_t>(out_.sessions.size());
    out_.sessions.push_back(r.str);
    index_.emplace(r.str, n);
    out_.at.push_back(n);
  }
  // A reply that is not an array (a hash of another type): `n` positions without a session.
  void add_all(const Reply& r, std::size_t n) {
    const std::size_t from = out_.at.size();
    if (r.is_array()) {
      for (const Reply& e : r.elements)
        add(e);
    }
    out_.at.resize(from + n, core::kNotSticky);
  }
  core::StickyContacts take() { return std::move(out_); }

 private:
  core::StickyContacts out_;
  std::unordered_map<std::string, std::uint16_t> index_;
};

}  // namespace

asio::awaitable<std::vector<core::StickyContacts>> read_sticky(
    redis::Connection& conn, const std::vector<StickyRead>& reads) {
  std::vector<Call> calls;
  for (const StickyRead& r : reads) {
    const auto& cs = *r.contacts;
    for (std::size_t from = 0; from < cs.size(); from += kStickyReadChunk) {
      const std::size_t to = std::min(cs.size(), from + kStickyReadChunk);
      Command c;
      c.reserve(2 + to - from);
      c.emplace_back("HMGET");
      c.push_back(r.key);
      c.insert(c.end(), cs.begin() + static_cast<std::ptrdiff_t>(from),
               cs.begin() + static_cast<std::ptrdiff_t>(to));
      calls.push_back(plain(std::move(c)));
    }
  }
  std::vector<Reply> replies;
  if (!calls.empty()) replies = co_await run(conn, std::move(calls));
  std::vector<core::StickyContacts> out;
  std::size_t next = 0;
  for (const StickyRead& r : reads) {
    Interner in;
    const auto& cs = *r.contacts;
    for (std::size_t from = 0; from < cs.size(); from += kStickyReadChunk)
      in.add_all(replies[next++], std::min(cs.size(), from + kStickyReadChunk) - from);
    out.push_back(in.take());
  }
  co_return out;
}

asio::awaitable<core::StickyContacts> read_sticky_list(redis::Connection& conn,
                                                       const std::string& key,
                                                       const std::string& src,
                                                       std::uint64_t count) {
  constexpr std::size_t kDepth = 4;
  const auto call = [&](std::uint64_t from) {
    const std::uint64_t to = std::min(count, from + kStickyListChunk) - 1;
    std::vector<Call> calls;
    calls.push_back(
        script_call(sticky_read_script(), {src, key}, {std::to_string(from), std::to_string(to)}));
    return Pending(conn, std::move(calls));
  };
  Interner in;
  std::deque<Pending> q;
  std::uint64_t asked = 0;
  for (std::uint64_t pos = 0; pos < count; pos += kStickyListChunk) {
    while (asked < count && q.size() < kDepth) {
      q.push_back(call(asked));
      asked = std::min(count, asked + kStickyListChunk);
    }
    const std::vector<Reply> r = co_await q.front().get();
    q.pop_front();
    in.add_all(r.at(0), std::min(count, pos + kStickyListChunk) - pos);
  }
  co_return in.take();
}

}  // namespace wa::queue
