#include "queue/job_queue.hpp"

#include "core/records.hpp"

namespace wa::queue {

asio::awaitable<TakeResult> JobQueue::take(std::int64_t now_ms, const config::Queue& q) {
  // (Arguments are built before co_await: GCC 12 miscompiles braced lists inside it.)
  const std::vector<std::string> keys{keys_.queue(),   keys_.notify(),     keys_.reserved(),
                                      keys_.delayed(), keys_.deliveries(), keys_.dead(),
                                      keys_.results()};
  std::vector<std::string> args{queue_score(now_ms),
                                queue_score(now_ms + q.lease_seconds * 1000LL),
                                std::to_string(q.batch_size),
                                std::to_string(q.max_deliveries),
                                std::to_string(q.max_payload_bytes),
                                core::iso8601(static_cast<double>(now_ms) / 1000.0)};
  Call call = script_call(take_script(), keys, std::move(args));
  Reply r = co_await run1(conn_, std::move(call));
  TakeResult out;
  if (r.is_error()) throw std::runtime_error("take script failed: " + r.str);
  if (!r.is_array() || r.elements.size() < 3) co_return out;
  out.duplicates = static_cast<std::uint64_t>(int_or(r.elements[0]));
  out.recovered = static_cast<std::uint64_t>(int_or(r.elements[1]));
  out.oversized = static_cast<std::uint64_t>(int_or(r.elements[2]));
  out.jobs.reserve((r.elements.size() - 3) / 2);
  for (std::size_t i = 3; i + 1 < r.elements.size(); i += 2) {
    out.jobs.push_back({std::move(r.elements[i].str), r.elements[i + 1].str == "1"});
  }
  co_return out;
}

asio::awaitable<void> JobQueue::extend(const std::vector<std::string>& payloads,
                                       std::int64_t now_ms, const config::Queue& q) {
  if (payloads.empty()) co_return;
  Command cmd{"ZADD", keys_.reserved(), "XX"};
  const std::string score = queue_score(now_ms + q.lease_seconds * 1000LL);
  for (const auto& p : payloads) {
    cmd.push_back(score);
    cmd.push_back(p);
  }
  (void)co_await run1(conn_, plain(std::move(cmd)));
}

asio::awaitable<long long> JobQueue::release(const std::vector<std::string>& payloads) {
  if (payloads.empty()) co_return 0;
  const std::vector<std::string> keys{keys_.reserved(), keys_.queue(), keys_.notify()};
  Call call = script_call(release_script(), keys, payloads);
  const Reply r = co_await run1(conn_, std::move(call));
  co_return int_or(r);
}

asio::awaitable<bool> JobQueue::wait_notify(redis::Connection& blocking, const Keys& keys,
                                            int seconds) {
  Command cmd{"BLPOP", keys.notify(), std::to_string(seconds)};
  const Reply r = co_await run1(blocking, plain(std::move(cmd)), std::chrono::seconds(seconds));
  co_return r.is_array();
}

void add_op(std::vector<std::string>& ops, std::initializer_list<std::string_view> words) {
  ops.push_back(std::to_string(words.size()));
  for (const auto w : words)
    ops.emplace_back(w);
}

}  // namespace wa::queue
