#include "queue/job_queue.hpp"

#include <algorithm>
#include <deque>
#include <iterator>
#include <memory>
#include <unordered_set>

#include "queue/sha1.hpp"

namespace wa::queue {

asio::awaitable<TakeResult> JobQueue::take(std::int64_t now_ms, const config::Queue& q) {
  // (Arguments are built before co_await: GCC 12 miscompiles braced lists inside it.)
  const std::vector<std::string> keys{keys_.queue(), keys_.notify(), keys_.reserved(),
                                      keys_.delayed(), keys_.deliveries()};
  std::vector<std::string> args{queue_score(now_ms), queue_score(now_ms + q.lease_seconds * 1000LL),
                                std::to_string(q.batch_size), std::to_string(q.max_deliveries)};
  Call call = script_call(take_script(), keys, std::move(args));
  Reply r = co_await run1(conn_, std::move(call));
  TakeResult out;
  if (r.is_error()) throw std::runtime_error("take script failed: " + r.str);
  if (!r.is_array() || r.elements.size() < 2) co_return out;
  out.duplicates = static_cast<std::uint64_t>(int_or(r.elements[0]));
  out.recovered = static_cast<std::uint64_t>(int_or(r.elements[1]));
  out.jobs.reserve((r.elements.size() - 2) / 2);
  for (std::size_t i = 2; i + 1 < r.elements.size(); i += 2) {
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

namespace {

// One LRANGE chunk of a staged deal, dealt as it is read: the visitor (run inside the
// connection's read callback, so everything it needs is shared with it) writes the RPUSH of
// each stage's stride straight from hiredis's reply into RESP, each followed by an EXPIRE.
struct Dealt {
  redis::Wire writes;
  std::vector<std::size_t> served;  // stage each write serves, or the stage count for an EXPIRE
  std::uint64_t n = 0;              // elements the LRANGE returned
};

struct StagePlan {
  std::vector<std::string> stages;
  long long ttl = 0;
};

redis::Visitor deal_into(std::shared_ptr<Dealt> d, std::shared_ptr<const StagePlan> plan,
                         std::uint64_t pos) {
  return [d = std::move(d), plan = std::move(plan), pos](std::size_t, redis::ReplyView r) {
    if (!r.is_array()) return;
    const std::size_t n = r.size();
    const std::size_t k = plan->stages.size();
    d->n = n;
    d->writes.reserve(n * 24 + k * 128);
    for (std::size_t j = 0; j < k; ++j) {
      // Contact pos + c goes to stage (pos + c) mod k.
      const std::size_t first = (j + k - pos % k) % k;
      if (first >= n) continue;
      d->writes.command(2 + (n - first + k - 1) / k);
      d->writes.arg("RPUSH");
      d->writes.arg(plan->stages[j]);
      for (std::size_t c = first; c < n; c += k)
        d->writes.arg(r[c].str());
      d->served.push_back(j);
      d->writes.command(3);
      d->writes.arg("EXPIRE");
      d->writes.arg(plan->stages[j]);
      d->writes.arg(plan->ttl);
      d->served.push_back(k);
    }
  };
}

}  // namespace

asio::awaitable<std::optional<std::vector<std::uint64_t>>> JobQueue::stage_deal(
    const std::string& src, std::uint64_t count, const std::vector<std::string>& stages,
    std::int64_t ttl_seconds) const {
  constexpr std::uint64_t kChunk = 10000;  // elements per LRANGE
  const std::size_t k = stages.size();
  auto plan = std::make_shared<const StagePlan>(StagePlan{stages, ttl_seconds});
  std::vector<std::uint64_t> lens(k, 0);
  bool ok = k > 0;
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
  std::vector<std::size_t> served;  // of the writes being checked
  const auto check = [&](const std::vector<Reply>& replies) {
    for (std::size_t n = 0; n < replies.size(); ++n) {
      if (replies[n].is_error()) {
        ok = false;
      } else if (served[n] < k) {
        lens[served[n]] = static_cast<std::uint64_t>(std::max(0LL, int_or(replies[n])));
      }
    }
  };
  // Reads ahead and writes in flight while a chunk is dealt, so that Redis always has work
  // queued: kDepth of each (a few megabytes at most).
  constexpr std::size_t kDepth = 3;
  std::deque<Read> reads;
  std::deque<std::pair<Pending, std::vector<std::size_t>>> writes;
  const auto settle = [&](std::size_t keep) -> asio::awaitable<void> {
    while (writes.size() > keep) {
      served = std::move(writes.front().second);
      check(co_await writes.front().first.get());
      writes.pop_front();
    }
  };
  std::uint64_t asked = 0;  // elements asked for so far
  const auto read_ahead = [&] {
    while (ok && asked < count && reads.size() < kDepth) {
      reads.push_back(read(asked));
      asked = std::min(count, asked + kChunk);
    }
  };
  read_ahead();
  for (std::uint64_t pos = 0; ok && pos < count; pos += kChunk) {
    std::vector<Reply> r = co_await reads.front().reply.get();
    const std::shared_ptr<Dealt> dealt = std::move(reads.front().dealt);
    reads.pop_front();
    if (r.size() != 1 || !r[0].is_array() || dealt->n != std::min(count, pos + kChunk) - pos) {
      ok = false;  // not a list, or shorter than counted: WA_DEAL decides
      break;
    }
    read_ahead();
    writes.emplace_back(Pending(conn_, std::move(dealt->writes)), std::move(dealt->served));
    co_await settle(kDepth);
  }
  co_await settle(0);
  while (!reads.empty()) {  // (stopped early: their replies are not needed)
    (void)co_await reads.front().reply.get();
    reads.pop_front();
  }
  if (!ok) {
    Command del{"DEL"};
    del.insert(del.end(), stages.begin(), stages.end());
    (void)co_await run1(conn_, plain(std::move(del)));
    co_return std::nullopt;
  }
  co_return lens;
}

asio::awaitable<std::vector<Reply>> JobQueue::finish_by_script(const std::vector<TxJob>& jobs,
                                                               std::int64_t marker_ttl) const {
  std::vector<std::string> args{std::to_string(marker_ttl)};
  const auto op = [](std::vector<std::string>& ops, std::initializer_list<std::string_view> w) {
    ops.push_back(std::to_string(w.size()));
    ops.insert(ops.end(), w.begin(), w.end());
  };
  for (const TxJob& j : jobs) {
    std::vector<std::string> ops;
    for (const Command& c : j.writes) {
      ops.push_back(std::to_string(c.size()));
      ops.insert(ops.end(), c.begin(), c.end());
    }
    for (const auto& rec : j.results)
      op(ops, {"RPUSH", keys_.results(), rec});
    for (const auto& d : j.dead)
      op(ops, {"RPUSH", keys_.dead(), d});
    if (!j.delayed.empty()) op(ops, {"ZADD", keys_.delayed(), j.delayed_score, j.delayed});
    if (!j.active.empty()) op(ops, {"ZADD", keys_.active(), j.active_score, j.active});
    args.push_back(j.payload);
    args.push_back(j.marker);
    args.push_back(j.contacts_key);
    args.push_back(std::to_string(j.contacts_len));
    args.push_back(std::to_string(ops.size()));
    for (auto& o : ops)
      args.push_back(std::move(o));
  }
  Call call = script_call(finish_script(), {keys_.reserved(), keys_.deliveries()}, std::move(args));
  Reply reply = co_await run1(conn_, std::move(call));
  if (!reply.is_array() || reply.elements.size() != jobs.size()) {
    // Nothing was written (the script was refused, e.g. OOM): the jobs stay reserved.
    throw std::runtime_error("writing the outputs of " + std::to_string(jobs.size()) +
                             " jobs failed: " + (reply.is_error() ? reply.str : "bad reply"));
  }
  co_return std::move(reply.elements);
}

asio::awaitable<std::vector<Reply>> JobQueue::finish_tx(redis::Connection& tx,
                                                        std::vector<TxJob>& jobs,
                                                        std::int64_t marker_ttl) const {
  // Redis checks each WATCHed key against every key the connection already watches: a
  // transaction over n jobs costs O(n^2). Large batches go in transactions of kTxJobs.
  constexpr std::size_t kTxJobs = 64;
  if (jobs.size() <= kTxJobs) co_return co_await finish_chunk(tx, jobs, marker_ttl);
  std::vector<Reply> out;
  out.reserve(jobs.size());
  for (std::size_t from = 0; from < jobs.size(); from += kTxJobs) {
    const std::size_t to = std::min(jobs.size(), from + kTxJobs);
    std::vector<TxJob> chunk(std::make_move_iterator(jobs.begin() + static_cast<long>(from)),
                             std::make_move_iterator(jobs.begin() + static_cast<long>(to)));
    auto r = co_await finish_chunk(tx, chunk, marker_ttl);
    for (auto& x : r)
      out.push_back(std::move(x));
    std::move(chunk.begin(), chunk.end(), jobs.begin() + static_cast<long>(from));
  }
  co_return out;
}

asio::awaitable<std::vector<Reply>> JobQueue::finish_chunk(redis::Connection& tx,
                                                           std::vector<TxJob>& jobs,
                                                           std::int64_t marker_ttl) const {
  std::vector<Reply> out(jobs.size());
  if (jobs.empty()) co_return out;
  const std::string ttl = std::to_string(marker_ttl);
  const auto again = [&] {
    for (auto& r : out)
      r = Reply{Reply::Type::integer, {}, static_cast<long long>(FinishOutcome::again), {}};
    return out;
  };
  {
    // 1. Watch the markers, read them and the leases.
    const std::uint64_t epoch = tx.stats().connects;
    std::vector<Call> read;
    read.reserve(4);
    Command watch{"WATCH"}, mget{"MGET"}, zmscore{"ZMSCORE", keys_.reserved()};
    watch.reserve(jobs.size() + 2);
    mget.reserve(jobs.size() + 1);
    zmscore.reserve(jobs.size() + 2);
    // The deliveries hash too: whether it exists decides whether the acknowledgements clean it,
    // and a lease recovery in between (which adds to it) must not be missed.
    watch.push_back(keys_.deliveries());
    for (const TxJob& j : jobs) {
      watch.push_back(j.marker);
      mget.push_back(j.marker);
      zmscore.push_back(j.payload);
    }
    read.push_back(plain(std::move(watch)));
    read.push_back(plain(std::move(mget)));
    read.push_back(plain(std::move(zmscore)));
    read.push_back(plain({"EXISTS", keys_.deliveries()}));
    const std::vector<Reply> r1 = co_await run(tx, std::move(read));
    for (const Reply& r : r1) {
      if (r.is_error()) throw std::runtime_error("finish: reading markers failed: " + r.str);
    }
    if (!r1[1].is_array() || r1[1].elements.size() != jobs.size() || !r1[2].is_array() ||
        r1[2].elements.size() != jobs.size()) {
      throw std::runtime_error("finish: unexpected reply to MGET/ZMSCORE");
    }
    // Reconnected meanwhile: the WATCH is gone with the old connection.
    if (tx.stats().connects != epoch || !tx.ready()) co_return again();
    const bool any_deliveries = int_or(r1[3]) == 1;

    // 2. Decide each job's outcome as the finish script would.
    std::unordered_set<std::string_view> claimed;
    std::vector<FinishOutcome> outcome(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (r1[2].elements[i].is_nil()) {
        outcome[i] = FinishOutcome::lease_lost;
      } else if (!r1[1].elements[i].is_nil() || !claimed.insert(jobs[i].marker).second) {
        outcome[i] = FinishOutcome::duplicate;
      } else {
        outcome[i] = FinishOutcome::done;
      }
    }

    // 3. One transaction: every output, the markers, the acknowledgements, written straight
    // into RESP.
    std::size_t bytes = 64;
    for (const TxJob& j : jobs) {
      bytes += 2 * j.payload.size() + j.marker.size() + 160;
      for (const Command& c : j.writes) {
        for (const std::string& a : c)
          bytes += a.size() + 16;
      }
      for (const auto& rec : j.results)
        bytes += rec.size() + 16;
      for (const auto& d : j.dead)
        bytes += d.size() + 16;
      bytes += j.delayed.size() + j.active.size() + 64;
    }
    redis::Wire txn;
    txn.reserve(bytes);
    txn.command(1);
    txn.arg("MULTI");
    std::vector<std::pair<std::size_t, std::size_t>> own(jobs.size(), {0, 0});  // EXEC indexes
    std::size_t queued = 0;
    // Name and key of each queued command, for errors (views of strings that stay put until
    // the replies are read: the jobs' and the batch-wide commands, complete when queued).
    std::vector<std::pair<std::string_view, std::string_view>> names;
    names.reserve(jobs.size() * 8 + 8);
    auto queue_cmd = [&](const Command& c) {
      txn.command(c.size());
      for (const std::string& a : c)
        txn.arg(a);
      names.emplace_back(c[0], c.size() > 1 ? std::string_view(c[1]) : std::string_view());
      return queued++;
    };
    const auto label = [&](std::size_t k) {
      return std::string(names[k].first) + " " + std::string(names[k].second);
    };
    Command results{"RPUSH", keys_.results()}, dead{"RPUSH", keys_.dead()};
    Command delayed{"ZADD", keys_.delayed()}, active{"ZADD", keys_.active()};
    Command ack{"ZREM", keys_.reserved()}, hdel{"HDEL", keys_.deliveries()};
    std::vector<std::size_t> writers;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      TxJob& j = jobs[i];
      if (outcome[i] == FinishOutcome::lease_lost) continue;
      if (any_deliveries) hdel.push_back(sha1_hex(j.payload));
      ack.push_back(j.payload);
      if (outcome[i] != FinishOutcome::done) continue;
      writers.push_back(i);
      txn.command(5);
      txn.arg("SET");
      txn.arg(j.marker);
      txn.arg("1");
      txn.arg("EX");
      txn.arg(ttl);
      names.emplace_back("SET", j.marker);
      own[i].first = queued++;
      for (const Command& c : j.writes)
        queue_cmd(c);
      own[i].second = queued;
      // Moved: an aborted EXEC has the batch decided again from the start. (The vectors keep
      // their sizes, which say below which batch-wide commands served the job.)
      for (auto& rec : j.results)
        results.push_back(std::move(rec));
      for (auto& d : j.dead)
        dead.push_back(std::move(d));
      if (!j.delayed.empty()) {
        delayed.push_back(j.delayed_score);
        delayed.push_back(j.delayed);
      }
      if (!j.active.empty()) {
        active.push_back(j.active_score);
        active.push_back(j.active);
      }
    }
    // Batch-wide commands, and which jobs each one serves (an error fails them all).
    struct Shared {
      std::size_t index;
      bool (*serves)(const TxJob&);
    };
    std::vector<Shared> shared;
    if (results.size() > 2) {
      shared.push_back({queue_cmd(results), [](const TxJob& j) { return !j.results.empty(); }});
    }
    if (dead.size() > 2) {
      shared.push_back({queue_cmd(dead), [](const TxJob& j) { return !j.dead.empty(); }});
    }
    if (delayed.size() > 2) {
      shared.push_back({queue_cmd(delayed), [](const TxJob& j) { return !j.delayed.empty(); }});
    }
    if (active.size() > 2) {
      shared.push_back({queue_cmd(active), [](const TxJob& j) { return !j.active.empty(); }});
    }
    if (ack.size() > 2) queue_cmd(ack);
    if (hdel.size() > 2) queue_cmd(hdel);
    txn.command(1);
    txn.arg("EXEC");
    if (before_exec_) before_exec_();
    if (tx.stats().connects != epoch || !tx.ready()) co_return again();
    Pending sent(tx, std::move(txn));
    const std::vector<Reply> r2 = co_await sent.get();
    const Reply& exec = r2.back();
    if (exec.is_nil()) co_return again();  // a watched key changed meanwhile
    if (exec.is_error() || !exec.is_array() || exec.elements.size() != queued) {
      std::string why = exec.is_error() ? exec.str : "unexpected reply to EXEC";
      for (const Reply& r : r2) {
        if (r.is_error()) {
          why = r.str;
          break;
        }
      }
      // Nothing was applied (EXECABORT: a command was refused, e.g. OOM).
      throw std::runtime_error("writing the outputs of " + std::to_string(jobs.size()) +
                               " jobs failed: " + why);
    }

    // 4. Failed writes (a key of the wrong type): Redis went on with the transaction, so the
    // job's other outputs are written, its marker is set and it is acknowledged. Deciding it
    // again would write them twice (messages sent twice): the caller reports it instead.
    for (std::size_t i = 0; i < jobs.size(); ++i)
      out[i] = Reply{Reply::Type::integer, {}, static_cast<long long>(outcome[i]), {}};
    for (const std::size_t i : writers) {
      std::string failure;
      for (std::size_t k = own[i].first; k < own[i].second && failure.empty(); ++k) {
        if (exec.elements[k].is_error()) failure = label(k) + ": " + exec.elements[k].str;
      }
      for (const Shared& sh : shared) {
        if (failure.empty() && exec.elements[sh.index].is_error() && sh.serves(jobs[i])) {
          failure = label(sh.index) + ": " + exec.elements[sh.index].str;
        }
      }
      if (!failure.empty()) out[i] = Reply{Reply::Type::error, std::move(failure), 0, {}};
    }
    co_return out;
  }
}

void add_op(std::vector<std::string>& ops, std::initializer_list<std::string_view> words) {
  ops.push_back(std::to_string(words.size()));
  for (const auto w : words)
    ops.emplace_back(w);
}

}  // namespace wa::queue
