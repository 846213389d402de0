#include "daemon/daemon.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cmath>

#include "config/endpoint.hpp"
#include "core/backoff.hpp"
#include "core/records.hpp"
#include "core/select.hpp"
#include "daemon/logging.hpp"

namespace wa::daemon {

namespace {

constexpr int kNotifyWaitSeconds = 1;
// How often the consumers, the event and the health loops look again while their connections are
// not up yet: the first batch and the first cycle start as soon as they are.
constexpr double kNotReadyPollSeconds = 0.02;

std::string make_token() {
  char host[256] = {};
  (void)gethostname(host, sizeof host - 1);
  std::random_device rd;
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + std::to_string(rd());
}

}  // namespace

std::int64_t to_ms(double seconds) {
  return static_cast<std::int64_t>(std::llround(seconds * 1000.0));
}

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Daemon::Daemon(asio::io_context& io, config::Config cfg, std::string config_path)
    : io_(io),
      cfg_(std::move(cfg)),
      config_path_(std::move(config_path)),
      keys_(cfg_.redis.prefix, cfg_.queue.name),
      conn_(redis::Connection::create(io.get_executor(), config::endpoint_of(cfg_.redis), "main")),
      queue_(*conn_, keys_),
      store_(*conn_, keys_),
      lease_timer_(io),
      events_timer_(io),
      health_timer_(io),
      watchdog_timer_(io),
      depth_timer_(io),
      append_timer_(io),
      snapshot_loaded_(io, asio::steady_timer::time_point::max()),
      token_(make_token()),
      rng_(std::random_device{}()) {
  for (int i = 0; i < kConsumers; ++i) {
    tx_.push_back(redis::Connection::create(io.get_executor(), config::endpoint_of(cfg_.redis),
                                            "tx" + std::to_string(i + 1)));
    consumer_timers_.push_back(std::make_unique<asio::steady_timer>(io));
  }
  waiting_.assign(kConsumers, false);
  pacer_conn_ =
      redis::Connection::create(io.get_executor(), config::endpoint_of(cfg_.redis), "pacer");
  pacer_ = std::make_unique<Pacer>(io, *pacer_conn_, cfg_, keys_, metrics_, token_,
                                   [this](const std::string& m, double now) { warn_once(m, now); });
  status_ = std::make_unique<StatusBoard>(*conn_, keys_, cfg_, throughput_);
}

Daemon::~Daemon() = default;

std::string Daemon::health_problem() const {
  // Redis refuses writes (a read-only replica, maxmemory reached, a failed save) while reads
  // still pass: a refusal counts until this long without another one. The daemon writes at
  // least every second (the events lock), so a lasting cause keeps refreshing it.
  constexpr auto kRefusalWindow = std::chrono::seconds(5);
  if (stopping_) return "stopping";
  if (!conn_->ready()) {
    return redis_down_.empty() ? "redis not connected" : "redis not connected: " + redis_down_;
  }
  const redis::Refusal* latest = &conn_->last_refusal();
  for (const auto& c : tx_) {
    if (c->last_refusal().at > latest->at) latest = &c->last_refusal();
  }
  if (!latest->error.empty() && std::chrono::steady_clock::now() - latest->at < kRefusalWindow) {
    return "redis refuses commands: " + latest->error;
  }
  return "";
}

std::string Daemon::health_note() const {
  const redis::Endpoint& ep = conn_->endpoint();
  if (conn_->master().empty() || !conn_->ready()) return "";
  if (ep.cluster) {
    return "redis: cluster master " + conn_->master() + " for slot " +
           std::to_string(ep.cluster_slot);
  }
  return "redis: master " + conn_->master();
}

double Daemon::unit_random() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

void Daemon::start() {
  conn_->on_state([this](bool ready, const std::string& why) {
    redis_down_ = ready ? "" : why;
    if (ready) {
      spdlog::info("redis: {}", why);
      asio::co_spawn(io_, check_server(), asio::detached);
    } else if (!stopping_) {
      spdlog::warn("redis: not connected: {}", why);
    }
  });
  conn_->start();
  for (auto& c : tx_)
    c->start();
  pacer_conn_->start();
  auto spawn = [this](asio::awaitable<void> loop) {
    ++loops_running_;
    asio::co_spawn(io_, std::move(loop), [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::critical("internal error: {}", ex.what());
        }
      }
      if (--loops_running_ == 0) finish_loop();
    });
  };
  // Two consumers: while one batch's outputs are being written, the next batch is taken and
  // decided, so Redis and the daemon work at the same time instead of in turn.
  for (int i = 0; i < kConsumers; ++i)
    spawn(fetch_loop(i));
  spawn(lease_loop());
  spawn(events_loop());
  spawn(health_loop());
  spawn(watchdog_loop());
  spawn(depth_loop());
  spawn(append_loop());
  spawn(pacer_->run());
  spdlog::info("wa-routerd started: queue {} on {}", keys_.queue(), conn_->endpoint().describe());
  sd_notify(0, "READY=1\nSTATUS=running");
}

void Daemon::request_stop() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("stopping: finishing the jobs in hand");
  sd_notify(0, "STOPPING=1");
  for (std::size_t i = 0; i < tx_.size(); ++i) {
    if (waiting_[i]) tx_[i]->stop();  // ends a pending BLPOP at once (no job in hand there)
  }
  for (auto* t : {&lease_timer_, &events_timer_, &health_timer_, &watchdog_timer_, &depth_timer_,
                  &append_timer_}) {
    t->cancel();
  }
  for (auto& t : consumer_timers_)
    t->cancel();
  pacer_->stop();
}

void Daemon::warn_once(const std::string& message, double now) {
  constexpr double kQuietSeconds = 600;
  auto [it, fresh] = warned_at_.try_emplace(message, now);
  if (!fresh && now - it->second < kQuietSeconds) return;
  it->second = now;
  if (warned_at_.size() > 10000) warned_at_.clear();  // bounded, whatever the data
  spdlog::warn("{}", message);
}

void Daemon::finish_loop() {
  conn_->stop();
  for (auto& c : tx_)
    c->stop();
  pacer_conn_->stop();
  spdlog::info("stopped");
}

// New Redis credentials (a rotated password) take effect at each connection's next (re)connect:
// the connections in place stay up.
void Daemon::apply_credentials(const config::Redis& next) {
  config::Redis creds = cfg_.redis;
  creds.username = next.username;
  creds.password = next.password;
  creds.sentinel_username = next.sentinel_username;
  creds.sentinel_password = next.sentinel_password;
  if (creds == cfg_.redis) return;
  const redis::Endpoint ep = config::endpoint_of(creds);
  conn_->set_credentials(ep);
  pacer_conn_->set_credentials(ep);
  for (auto& c : tx_)
    c->set_credentials(ep);
  cfg_.redis = creds;
  spdlog::info("reload: new Redis credentials, used from the next (re)connect");
}

void Daemon::reload() {
  sd_notify(0, "RELOADING=1");
  try {
    config::Config next = config::load_from_file(config_path_);
    apply_credentials(next.redis);
    if (!(next.redis == cfg_.redis) || !(next.queue.name == cfg_.queue.name)) {
      spdlog::warn("reload: redis.* and queue.name changes take effect at the next restart");
      next.redis = cfg_.redis;
      next.queue.name = cfg_.queue.name;
    }
    cfg_ = std::move(next);
    // Said before the new logging settings apply, so that it shows at the old level.
    spdlog::info("reload: configuration re-read from {}", config_path_);
    setup_logging(cfg_.logging);
  } catch (const std::exception& e) {
    spdlog::error("reload: keeping the old configuration: {}", e.what());
  }
  sd_notify(0, "READY=1");
}

asio::awaitable<void> Daemon::sleep(asio::steady_timer& t, double seconds) {
  // request_stop() cancels only the waits pending at that moment: a loop busy then (a health
  // cycle, say) must not start its next full-interval sleep afterwards.
  if (stopping_) co_return;
  t.expires_after(std::chrono::microseconds(static_cast<long long>(seconds * 1e6)));
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> Daemon::fetch_loop(int consumer) {
  redis::Connection& tx = *tx_[static_cast<std::size_t>(consumer)];
  asio::steady_timer& idle_timer = *consumer_timers_[static_cast<std::size_t>(consumer)];
  std::vector<queue::TakenJob> redo;
  while (!stopping_) {
    bool failed = false;
    try {
      if (!conn_->ready() || !tx.ready()) {
        co_await sleep(idle_timer, kNotReadyPollSeconds);
        continue;
      }
      auto taken = co_await queue_.take(to_ms(wall_now()), cfg_.queue);
      if (taken.duplicates > 0) {
        metrics_.duplicates.Increment(static_cast<double>(taken.duplicates));
        spdlog::info("queue: {} byte-identical copies of jobs already in hand dropped",
                     taken.duplicates);
      }
      if (taken.oversized > 0) {
        metrics_.dead("oversized", static_cast<double>(taken.oversized));
        spdlog::warn("queue: {} payloads over queue.max_payload_bytes ({}) moved to {}",
                     taken.oversized, cfg_.queue.max_payload_bytes, keys_.dead());
      }
      for (const auto& j : taken.jobs)
        in_hand_.insert(j.payload);
      metrics_.jobs_taken.Increment(static_cast<double>(taken.jobs.size()));
      metrics_.lease_recoveries.Increment(static_cast<double>(taken.recovered));
      for (auto& j : taken.jobs)
        redo.push_back(std::move(j));
      if (redo.empty()) {
        co_await wait_for_jobs(consumer);
        continue;
      }
      // A copy: when deciding fails half-way (Redis lost), the same jobs are tried again. That is
      // safe: finishing writes nothing for a job no longer reserved or already decided.
      redo = co_await process(redo, tx);
    } catch (const std::exception& e) {
      if (stopping_) break;
      metrics_.loop_errors.Increment();
      spdlog::warn("queue: {}; retrying", e.what());
      failed = true;
    }
    if (failed) co_await sleep(idle_timer, 0.5);
  }
  // Jobs taken but not started go back to the head of the queue.
  std::vector<std::string> back;
  for (const auto& j : redo)
    back.push_back(j.payload);
  if (!back.empty() && conn_->ready()) {
    try {
      const auto n = co_await queue_.release(back);
      spdlog::info("stopping: {} jobs put back at the head of the queue", n);
    } catch (const std::exception& e) {
      spdlog::warn("stopping: could not put {} jobs back ({}); their leases will expire",
                   back.size(), e.what());
    }
  }
}

asio::awaitable<void> Daemon::wait_for_jobs(int consumer) {
  const auto i = static_cast<std::size_t>(consumer);
  struct Waiting {
    std::vector<bool>& flags;
    std::size_t i;
    ~Waiting() { flags[i] = false; }
  } waiting{waiting_, i};
  if (!tx_[i]->ready()) co_return;  // the loop polls until it is back
  waiting_[i] = true;
  (void)co_await queue::JobQueue::wait_notify(*tx_[i], keys_, kNotifyWaitSeconds);
}

asio::awaitable<void> Daemon::lease_loop() {
  while (!stopping_) {
    co_await sleep(lease_timer_, cfg_.queue.lease_seconds / 3.0);
    if (stopping_ || in_hand_.empty() || !conn_->ready()) continue;
    try {
      const std::vector<std::string> payloads(in_hand_.begin(), in_hand_.end());
      co_await queue_.extend(payloads, to_ms(wall_now()), cfg_.queue);
    } catch (const std::exception& e) {
      metrics_.loop_errors.Increment();
      spdlog::warn("queue: extending leases failed: {}", e.what());
    }
  }
}

asio::awaitable<void> Daemon::events_loop() {
  constexpr std::int64_t kLockMs = 10000;
  // The batch read and aggregated while the previous one was applied, if any: only valid while
  // the events lock stays ours without a break (Store::apply_events).
  std::optional<queue::EventBatch> next;
  while (!stopping_) {
    double pause = 1.0;
    try {
      if (!conn_->ready()) {
        next.reset();
        pause = kNotReadyPollSeconds;
      } else {
        const auto lock = co_await store_.hold_lock_state(keys_.events_lock(), token_, kLockMs);
        if (lock != queue::LockState::kept) next.reset();
        if (lock != queue::LockState::not_held) {
          if (!next || next->count == 0) {
            // The parts of a batch whose apply was cut short go first.
            report_events(co_await store_.drain_staged_events(token_));
            next = co_await store_.read_events(kEventBatch, wall_now(), cfg_);
          }
          if (next->count > 0) {
            auto step = co_await store_.apply_events(token_, std::move(*next), kEventBatch,
                                                     wall_now(), cfg_);
            report_events(step.report);
            next = std::move(step.next);
            // Straight on while there is more (a lost lock is looked at again at once too).
            if (step.report.lock_lost || (next && next->count > 0)) pause = 0;
          } else {
            next.reset();
          }
        }
      }
    } catch (const std::exception& e) {
      next.reset();
      metrics_.loop_errors.Increment();
      spdlog::warn("events: {}", e.what());
    }
    if (pause > 0) co_await sleep(events_timer_, pause);
  }
  if (conn_->ready()) {
    try {
      co_await store_.release_lock(keys_.events_lock(), token_);
    } catch (const std::exception&) {
    }
  }
}

void Daemon::report_events(const queue::IngestReport& r) {
  metrics_.events_consumed.Increment(static_cast<double>(r.consumed));
  metrics_.events_malformed.Increment(static_cast<double>(r.malformed));
  if (r.malformed > 0) {  // one line per batch
    std::string why;
    for (const auto& err : r.errors)
      why += (why.empty() ? "" : " | ") + err;
    spdlog::warn("events: {} malformed event(s) of {} counted and dropped{}{}", r.malformed,
                 r.consumed, why.empty() ? "" : "; first: ", why);
  }
  if (r.failed_writes > 0) {
    metrics_.loop_errors.Increment();
    warn_once(
        "events: statistics writes skipped (a wa:stats key of another type, or a counter that "
        "is not a number); the events are consumed all the same",
        wall_now());
    spdlog::debug("events: {} statistics writes skipped in a batch", r.failed_writes);
  }
}

namespace {

void release_free_memory() {
#ifdef __GLIBC__
  (void)malloc_trim(0);
#endif
}

}  // namespace

asio::awaitable<void> Daemon::health_loop() {
  while (!stopping_) {
    if (conn_->ready()) {
      try {
        const auto ttl = std::max<std::int64_t>(1, to_ms(cfg_.health.check_interval) - 50);
        if (co_await store_.hold_lock(keys_.health_lock(), token_, ttl)) {
          const auto started = std::chrono::steady_clock::now();
          co_await health_cycle();
          metrics_.health_cycle_seconds.Observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          metrics_.health_cycles.Increment();
          // A cycle over thousands of sessions frees megabytes at once; glibc keeps freed memory
          // at the top of its heaps, so without a trim the RSS would stay at the cycle's peak
          // (operators read a flat RSS as "no leak").
          release_free_memory();
        }
      } catch (const std::exception& e) {
        metrics_.loop_errors.Increment();
        spdlog::warn("health: cycle interrupted: {}", e.what());
      }
      co_await sleep(health_timer_, cfg_.health.check_interval);
    } else {
      // The first cycle runs as soon as Redis is there.
      co_await sleep(health_timer_, kNotReadyPollSeconds);
    }
  }
}

asio::awaitable<void> Daemon::check_server() {
  try {
    redis::Command get{"CONFIG", "GET", "maxmemory-policy"};
    const auto r = co_await queue::run1(*conn_, queue::plain(std::move(get)));
    if (r.is_array() && r.elements.size() == 2 && r.elements[1].str != "noeviction") {
      spdlog::warn(
          "redis: maxmemory-policy is {}: Redis may evict queue keys under memory "
          "pressure and lose jobs; set it to noeviction",
          r.elements[1].str);
    }
  } catch (const std::exception&) {
    // CONFIG may be renamed or forbidden (managed Redis): nothing to check then.
  }
}

void Daemon::sample_metrics() {
  metrics_.redis_up.Set(conn_->ready() ? 1 : 0);
  metrics_.observe_connection("main", conn_->stats());
  for (const auto& c : tx_)
    metrics_.observe_connection(c->name(), c->stats());
  metrics_.observe_connection("pacer", pacer_conn_->stats());
}

asio::awaitable<void> Daemon::depth_loop() {
  constexpr double kEverySeconds = 5;
  while (!stopping_) {
    if (conn_->ready()) {
      try {
        std::vector<queue::Call> calls;
        calls.push_back(queue::plain({"LLEN", keys_.queue()}));
        calls.push_back(queue::plain({"ZCARD", keys_.delayed()}));
        calls.push_back(queue::plain({"ZCARD", keys_.reserved()}));
        calls.push_back(queue::plain({"LLEN", keys_.dead()}));
        const auto r = co_await queue::run(*conn_, std::move(calls));
        metrics_.set_depths(
            static_cast<double>(queue::int_or(r[0])), static_cast<double>(queue::int_or(r[1])),
            static_cast<double>(queue::int_or(r[2])), static_cast<double>(queue::int_or(r[3])));
      } catch (const std::exception& e) {
        spdlog::debug("metrics: sampling the queue depths failed: {}", e.what());
      }
    }
    co_await sleep(depth_timer_, kEverySeconds);
  }
}

asio::awaitable<void> Daemon::watchdog_loop() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) co_return;
  while (!stopping_) {
    sd_notify(0, "WATCHDOG=1");
    co_await sleep(watchdog_timer_, static_cast<double>(usec) / 2e6);
  }
}

}  // namespace wa::daemon
