// One finish transaction (JobQueue::finish_chunk): WATCH the markers, read them and the leases,
// then every output, marker and acknowledgement in one MULTI/EXEC written straight into RESP.
#include <unordered_set>

#include "queue/job_queue.hpp"
#include "queue/sha1.hpp"

namespace wa::queue {

namespace {

// What the read before the transaction found.
struct Seen {
  bool any_deliveries = false;
  std::vector<FinishOutcome> outcome;  // done, duplicate or lease_lost per job
};

// 1. Watch the markers (and the deliveries hash: whether it exists decides whether the
// acknowledgements clean it, and a lease recovery in between adds to it), read them and the
// leases.
asio::awaitable<Seen> watch_and_read(redis::Connection& tx, const std::vector<TxJob>& jobs,
                                     const Keys& keys) {
  Command watch{"WATCH", keys.deliveries()}, mget{"MGET"}, zmscore{"ZMSCORE", keys.reserved()};
  for (const TxJob& j : jobs) {
    watch.push_back(j.marker);
    mget.push_back(j.marker);
    zmscore.push_back(j.payload);
  }
  std::vector<Call> read;
  read.push_back(plain(std::move(watch)));
  read.push_back(plain(std::move(mget)));
  read.push_back(plain(std::move(zmscore)));
  read.push_back(plain({"EXISTS", keys.deliveries()}));
  const std::vector<Reply> r = co_await run(tx, std::move(read));
  for (const Reply& x : r) {
    if (x.is_error()) throw std::runtime_error("finish: reading markers failed: " + x.str);
  }
  if (!r[1].is_array() || r[1].elements.size() != jobs.size() || !r[2].is_array() ||
      r[2].elements.size() != jobs.size()) {
    throw std::runtime_error("finish: unexpected reply to MGET/ZMSCORE");
  }
  Seen seen{int_or(r[3]) == 1, std::vector<FinishOutcome>(jobs.size())};
  std::unordered_set<std::string_view> claimed;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (r[2].elements[i].is_nil()) {
      seen.outcome[i] = FinishOutcome::lease_lost;
    } else if (!r[1].elements[i].is_nil() || !claimed.insert(jobs[i].marker).second) {
      seen.outcome[i] = FinishOutcome::duplicate;
    } else {
      seen.outcome[i] = FinishOutcome::done;
    }
  }
  co_return seen;
}

// 2. The transaction, and what each queued command serves (for errors).
class Txn {
 public:
  Txn(const Keys& keys, std::size_t jobs) : own_(jobs, {0, 0}) {
    results_ = {"RPUSH", keys.results()};
    dead_ = {"RPUSH", keys.dead()};
    delayed_ = {"ZADD", keys.delayed()};
    active_ = {"ZADD", keys.active()};
    ack_ = {"ZREM", keys.reserved()};
    hdel_ = {"HDEL", keys.deliveries()};
    names_.reserve(jobs * 8 + 8);
  }

  void build(std::vector<TxJob>& jobs, const Seen& seen, const std::string& ttl) {
    wire_.reserve(size_of(jobs));
    wire_.command(1);
    wire_.arg("MULTI");
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (seen.outcome[i] == FinishOutcome::lease_lost) continue;
      if (seen.any_deliveries) hdel_.push_back(sha1_hex(jobs[i].payload));
      ack_.push_back(jobs[i].payload);
      if (seen.outcome[i] == FinishOutcome::done) add_job(i, jobs[i], ttl);
    }
    add_shared();
    wire_.command(1);
    wire_.arg("EXEC");
  }

  redis::Wire take_wire() { return std::move(wire_); }
  std::size_t queued() const noexcept { return queued_; }

  // 4. A failed write (a key of the wrong type): Redis went on with the transaction, so the
  // job's other outputs are written, its marker set and it is acknowledged.
  std::vector<FinishResult> results(const std::vector<TxJob>& jobs, const Seen& seen,
                                    const Reply& exec) const {
    std::vector<FinishResult> out;
    for (const FinishOutcome o : seen.outcome)
      out.push_back({o, {}});
    for (const std::size_t i : writers_) {
      std::string failure;
      for (std::size_t k = own_[i].first; k < own_[i].second && failure.empty(); ++k) {
        if (exec.elements[k].is_error()) failure = label(k) + ": " + exec.elements[k].str;
      }
      for (const Shared& sh : shared_) {
        if (failure.empty() && exec.elements[sh.index].is_error() && sh.serves(jobs[i])) {
          failure = label(sh.index) + ": " + exec.elements[sh.index].str;
        }
      }
      if (!failure.empty()) out[i] = {FinishOutcome::write_failed, std::move(failure)};
    }
    return out;
  }

 private:
  struct Shared {  // a batch-wide command, and which jobs it serves (an error fails them all)
    std::size_t index;
    bool (*serves)(const TxJob&);
  };

  static std::size_t size_of(const std::vector<TxJob>& jobs) {
    std::size_t bytes = 64;
    for (const TxJob& j : jobs) {
      bytes += 2 * j.payload.size() + j.marker.size() + 160 + j.delayed.size() + j.active.size();
      for (const Command& c : j.writes) {
        for (const std::string& a : c)
          bytes += a.size() + 16;
      }
      for (const auto& rec : j.results)
        bytes += rec.size() + 16;
      for (const auto& d : j.dead)
        bytes += d.size() + 16;
    }
    return bytes;
  }

  // Name and key of each queued command are views of strings that stay put until the replies
  // are read (the jobs' commands and this object's).
  std::size_t queue_cmd(const Command& c) {
    wire_.command(c.size());
    for (const std::string& a : c)
      wire_.arg(a);
    names_.emplace_back(c[0], c.size() > 1 ? std::string_view(c[1]) : std::string_view());
    return queued_++;
  }

  std::string label(std::size_t k) const {
    return std::string(names_[k].first) + " " + std::string(names_[k].second);
  }

  void add_job(std::size_t i, TxJob& j, const std::string& ttl) {
    writers_.push_back(i);
    wire_.command(5);
    wire_.arg("SET");
    wire_.arg(j.marker);
    wire_.arg("1");
    wire_.arg("EX");
    wire_.arg(ttl);
    names_.emplace_back("SET", j.marker);
    own_[i].first = queued_++;
    for (const Command& c : j.writes)
      queue_cmd(c);
    own_[i].second = queued_;
    // Moved: an aborted EXEC has the batch decided again from the start. (The vectors keep
    // their sizes, which say below which batch-wide commands served the job.)
    for (auto& rec : j.results)
      results_.push_back(std::move(rec));
    for (auto& d : j.dead)
      dead_.push_back(std::move(d));
    if (!j.delayed.empty()) {
      delayed_.push_back(j.delayed_score);
      delayed_.push_back(j.delayed);
    }
    if (!j.active.empty()) {
      active_.push_back(j.active_score);
      active_.push_back(j.active);
    }
  }

  void add_shared() {
    const auto add = [&](const Command& c, bool (*serves)(const TxJob&)) {
      if (c.size() > 2) shared_.push_back({queue_cmd(c), serves});
    };
    add(results_, [](const TxJob& j) { return !j.results.empty(); });
    add(dead_, [](const TxJob& j) { return !j.dead.empty(); });
    add(delayed_, [](const TxJob& j) { return !j.delayed.empty(); });
    add(active_, [](const TxJob& j) { return !j.active.empty(); });
    if (ack_.size() > 2) queue_cmd(ack_);
    if (hdel_.size() > 2) queue_cmd(hdel_);
  }

  redis::Wire wire_;
  Command results_, dead_, delayed_, active_, ack_, hdel_;
  std::vector<std::pair<std::size_t, std::size_t>> own_;  // each job's EXEC indexes
  std::vector<std::pair<std::string_view, std::string_view>> names_;
  std::vector<Shared> shared_;
  std::vector<std::size_t> writers_;
  std::size_t queued_ = 0;
};

}  // namespace

asio::awaitable<std::vector<FinishResult>> JobQueue::finish_chunk(redis::Connection& tx,
                                                                  std::vector<TxJob>& jobs,
                                                                  std::int64_t marker_ttl) const {
  if (jobs.empty()) co_return std::vector<FinishResult>{};
  const auto all = [&](FinishOutcome o, const std::string& why) {
    return std::vector<FinishResult>(jobs.size(), FinishResult{o, why});
  };
  const std::uint64_t epoch = tx.stats().connects;
  const Seen seen = co_await watch_and_read(tx, jobs, keys_);
  // Reconnected meanwhile: the WATCH is gone with the old connection.
  if (tx.stats().connects != epoch || !tx.ready()) co_return all(FinishOutcome::again, {});
  Txn txn(keys_, jobs.size());
  txn.build(jobs, seen, std::to_string(marker_ttl));
  if (before_exec_) before_exec_();
  if (tx.stats().connects != epoch || !tx.ready()) co_return all(FinishOutcome::again, {});
  Pending sent(tx, txn.take_wire());
  const std::vector<Reply> r = co_await sent.get();
  const Reply& exec = r.back();
  if (exec.is_nil()) co_return all(FinishOutcome::again, {});  // a watched key changed
  if (exec.is_error() || !exec.is_array() || exec.elements.size() != txn.queued()) {
    // Nothing was applied (EXECABORT: a command was refused, e.g. OOM).
    std::string why = exec.is_error() ? exec.str : "unexpected reply to EXEC";
    for (const Reply& x : r) {
      if (x.is_error()) {
        why = x.str;
        break;
      }
    }
    co_return all(FinishOutcome::failed, why);
  }
  co_return txn.results(jobs, seen, exec);
}

}  // namespace wa::queue
