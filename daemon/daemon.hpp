// The wa-routerd process: one Asio event loop running the queue consumers, the lease keeper,
// the event ingester and the health cycle, over a Redis connection for commands and one per
// consumer for its MULTI/EXEC transactions and its blocking wait on the notify list.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/job.hpp"
#include "core/plan.hpp"
#include "core/select.hpp"
#include "core/status.hpp"
#include "daemon/metrics.hpp"
#include "daemon/pacer.hpp"
#include "daemon/status.hpp"
#include "queue/finish.hpp"
#include "queue/job_queue.hpp"
#include "queue/keys.hpp"
#include "queue/php_values.hpp"
#include "queue/store.hpp"
#include "redis/connection.hpp"

namespace wa::daemon {

namespace asio = boost::asio;

class Daemon {
 public:
  Daemon(asio::io_context& io, config::Config cfg, std::string config_path);
  ~Daemon();

  void start();
  // SIGTERM/SIGINT: stop taking jobs, finish those in hand, put back what was not started.
  void request_stop();
  // SIGHUP: re-read the config file; a bad file is reported and the old config kept.
  void reload();

  Metrics& metrics() noexcept { return metrics_; }
  // Refreshes the metrics that are read rather than counted (connection state and counters).
  void sample_metrics();
  const config::Config& config() const noexcept { return cfg_; }
  // Empty while healthy; otherwise why not: stopping, Redis not connected (and why: "authentication
  // failed: WRONGPASS ..."), or Redis refusing commands lately (READONLY, OOM, MISCONF...).
  std::string health_problem() const;
  // In Sentinel and cluster modes, the master in use ("redis: cluster master 10.0.0.5:7001 for
  // slot 1234"); "" otherwise.
  std::string health_note() const;
  bool stopping() const noexcept { return stopping_; }
  // GET /status.json (daemon/status.hpp); throws when Redis cannot be read.
  asio::awaitable<std::string> status_json() { return status_->json(); }

 private:
  void apply_credentials(const config::Redis& next);
  // One taken job on its way through process().
  struct Item {
    queue::TakenJob taken;
    core::ParsedJob parsed;
    std::string contacts_key;  // prefixed, when the job names one
    std::uint64_t contacts = 0;
    std::vector<std::string_view> warnings;  // for the decision record (contacts_key_missing)
    std::string rejected;                    // why it can never be served (contacts_key type)
    core::JobPlan plan;                      // plain data: no pointer into a snapshot
    std::vector<std::string> stages;         // its stage lists, when its contacts are staged
    std::optional<queue::FinishResult> result;
    std::string unstable;  // why it was put back: its contacts_key list kept changing
    // Section 10: what wa:sticky:<workspace> says about its contacts (webjs plans, sticky on).
    std::optional<core::StickyContacts> sticky;
  };
  asio::awaitable<void> fetch_loop(int consumer);
  // Waits up to kNotifyWaitSeconds for a notify entry on the consumer's own connection.
  asio::awaitable<void> wait_for_jobs(int consumer);
  asio::awaitable<void> lease_loop();
  asio::awaitable<void> events_loop();
  void report_events(const queue::IngestReport& r);
  asio::awaitable<void> health_loop();
  asio::awaitable<void> watchdog_loop();
  asio::awaitable<void> depth_loop();
  // Warns when the server may evict keys (maxmemory-policy other than noeviction).
  asio::awaitable<void> check_server();  // samples the queue depths for the metrics
  // Decides and finishes a batch; returns the jobs to decide again at once (a marker of the
  // batch was written meanwhile). `tx` is the consumer's own connection for the MULTI/EXEC.
  asio::awaitable<std::vector<queue::TakenJob>> process(std::vector<queue::TakenJob> batch,
                                                        redis::Connection& tx);
  // The steps of process() (daemon/process.cpp), in order.
  std::vector<Item> parse_batch(std::vector<queue::TakenJob>& batch) const;
  asio::awaitable<void> measure_contacts(std::vector<Item>& items);
  asio::awaitable<void> plan_batch(std::vector<Item>& items, double now);
  // `count_backlog`: add the decision to the workspace's pace view (false when planned again).
  core::JobPlan plan_item(const Item& it, double now, bool count_backlog = true);
  // Section 10 (daemon/sticky.cpp): reads the sticky sessions of the webjs plans' contacts and
  // plans those jobs again with them.
  asio::awaitable<void> apply_sticky(std::vector<Item>& items, double now);
  bool sticky_writes(const Item& it) const;
  static bool decidable(const Item& it);
  bool staged(const Item& it) const;
  asio::awaitable<void> stage(Item& it, queue::TxJob& o);
  void place_stages(Item& it, queue::TxJob& o,
                    const std::optional<std::vector<std::uint64_t>>& lens,
                    const std::vector<std::string>& dsts);
  asio::awaitable<void> finish_batch(std::vector<Item>& items, std::vector<queue::TxJob>& outs,
                                     redis::Connection& tx);
  asio::awaitable<void> second_pass(std::vector<Item>& items, redis::Connection& tx, double now);
  // Metrics and logs per outcome (daemon/record.cpp).
  asio::awaitable<std::vector<queue::TakenJob>> record_batch(std::vector<Item>& items,
                                                             double elapsed, double now);
  void record_done(const Item& it, double elapsed);
  void record_write_failed(const Item& it, queue::TxJob& partly, double now);
  asio::awaitable<void> write_partly_dead(queue::TxJob& partly);
  // Makes snapshots_ hold the given workspaces, read from Redis at most every kSnapshotSeconds.
  asio::awaitable<void> refresh_snapshots(const std::vector<std::string>& ids, double now);
  // Appends registered stage lists to their dispatch lists in bounded steps (daemon/appender).
  asio::awaitable<void> append_loop();
  static constexpr double kSnapshotSeconds = 1.0;
  static constexpr int kConsumers = 6;
  static constexpr std::size_t kEventBatch = 5000;  // events per ingestion step
  static constexpr std::size_t kSnapshotLimit = 100000;
  asio::awaitable<void> health_cycle();
  // Drops wa:campaigns:active entries older than 24 h, in bounded steps.
  asio::awaitable<void> prune_active(double now);
  asio::awaitable<void> switch_campaigns(double now);
  // Checks the campaigns `ids` (one page of wa:campaigns:active) and moves what must move.
  asio::awaitable<void> switch_page(const std::vector<std::string>& ids, double now);
  asio::awaitable<void> sleep(asio::steady_timer& t, double seconds);
  void finish_loop();
  // Logs a recurring problem (a missing session hash, say) once per 10 minutes, not per batch.
  void warn_once(const std::string& message, double now);
  double unit_random();

  asio::io_context& io_;
  config::Config cfg_;
  std::string config_path_;
  queue::Keys keys_;
  std::shared_ptr<redis::Connection> conn_;
  std::string redis_down_;  // why conn_ is not ready, as its state listener last said
  // One per consumer: WATCH/MULTI/EXEC need a connection of their own, and its BLPOP on the
  // notify list waits there too, never behind another consumer's (the connection is idle then).
  std::vector<std::shared_ptr<redis::Connection>> tx_;
  std::vector<bool> waiting_;  // per consumer: its BLPOP is in flight
  std::vector<std::unique_ptr<asio::steady_timer>> consumer_timers_;
  queue::JobQueue queue_;
  queue::Store store_;
  asio::steady_timer lease_timer_, events_timer_, health_timer_, watchdog_timer_, depth_timer_;
  asio::steady_timer append_timer_;
  std::set<std::string> in_hand_;  // payloads reserved by this process
  std::map<std::string, double> warned_at_;
  std::uint64_t staging_seq_ = 0;  // names this process's stage lists (Keys::staging)
  std::map<std::string, queue::WorkspaceData> snapshots_;  // workspace id → last read
  std::map<std::string, double> snapshot_at_;              // workspace id → when it was read
  std::set<std::string> loading_;                          // workspaces being read by a consumer
  asio::steady_timer snapshot_loaded_;  // never expires; cancelled when a read ends
  std::string token_;                   // this process's lock token
  std::mt19937_64 rng_;
  Metrics metrics_;
  std::shared_ptr<redis::Connection> pacer_conn_;  // the pacer's releases, apart from the jobs'
  std::unique_ptr<Pacer> pacer_;
  core::Throughput throughput_;  // jobs finished per second, for the status page
  std::unique_ptr<StatusBoard> status_;
  bool stopping_ = false;
  std::uint64_t health_cycles_run_ = 0;  // by this process (the first may not judge the pace)
  int loops_running_ = 0;
};

// Wall-clock now in Unix seconds.
double wall_now();
std::int64_t to_ms(double seconds);

}  // namespace wa::daemon
