// Typed configuration of wa-routerd (CONTRACT.md section 7). Every field has the documented
// default, so a default-constructed Config is exactly what an empty YAML file yields.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace wa::config {

// TLS towards Redis (redis.tls) or its Sentinels (redis.sentinel_tls).
struct Tls {
  bool enabled = false;
  std::string ca_file;    // "": the system's CA store
  std::string cert_file;  // client certificate for mutual TLS (with key_file)
  std::string key_file;
  std::string server_name;  // name the server's certificate must carry; "": the host
  bool verify = true;
  bool operator==(const Tls&) const = default;
};

struct Redis {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // non-empty: connect through it instead of host/port
  std::string username;     // Redis 6 ACL user ("": the default user)
  std::string password;
  Tls tls;
  int db = 0;
  std::string prefix;  // prepended to every key and channel
  // High availability: when non-empty, the master is found through these Sentinels
  // ("host:port" each) under master_name, and followed across failovers; host/port are unused.
  std::vector<std::string> sentinels;
  std::string master_name;
  std::string sentinel_username;
  std::string sentinel_password;
  Tls sentinel_tls;
  // Redis Cluster: host/port (or unix_socket) name any node of the cluster; the daemon works on
  // the master of the slot of its keys. The prefix must carry a hash tag ("{wa}:") so that every
  // key shares that slot; not with sentinels, and only database 0.
  bool cluster = false;
  bool operator==(const Redis&) const = default;
};

struct Queue {
  std::string name = "wa-campaigns";
  int lease_seconds = 60;
  int batch_size = 64;
  int max_deliveries = 5;
  // A payload larger than this goes to dead at once (contacts belong in a contacts_key list).
  std::int64_t max_payload_bytes = 1048576;
  bool operator==(const Queue&) const = default;
};

struct Results {
  std::int64_t ttl_seconds = 604800;
  bool operator==(const Results&) const = default;
};

struct Retry {
  double base_delay = 300;  // seconds
  double max_delay = 3600;  // seconds
  double jitter = 0.2;      // 0 <= jitter < 1
  int max_attempts = 10;
  bool operator==(const Retry&) const = default;
};

struct SwitchThresholds {
  double error_rate_threshold = 10;       // percent; broken when above
  double response_time_threshold = 5000;  // ms; broken when above
  int health_score_threshold = 60;        // score; broken when below
  bool operator==(const SwitchThresholds&) const = default;
};

struct Selection {
  bool enable_auto_switching = true;
  SwitchThresholds switch_thresholds;
  // Section 10: a contact keeps the session that last wrote to it (wa:sticky:<workspace>).
  bool sticky_sender = true;
  bool operator==(const Selection&) const = default;
};

struct HealthWeights {
  double connection_stability = 0.35;
  double message_success_rate = 0.25;
  double recent_activity = 0.20;
  double error_rate = 0.20;
  double response_time = 0.15;
  double uptime = 0.15;
  bool operator==(const HealthWeights&) const = default;
};

struct Health {
  double check_interval = 300;  // seconds
  int min_score_primary = 80;
  int min_score_secondary = 60;
  int max_sessions_per_workspace = 10;
  HealthWeights weights;
  bool operator==(const Health&) const = default;
};

enum class Strategy { weighted_capacity, health_score, round_robin };

struct LoadBalancing {
  Strategy strategy = Strategy::weighted_capacity;
  double base_capacity = 1000;  // messages per hour
  bool enable_predictive_analytics = true;
  bool operator==(const LoadBalancing&) const = default;
};

struct AlertThresholds {
  double high_error_rate = 15;   // percent; broken when above
  double slow_delivery = 10000;  // ms; broken when above
  double low_success_rate = 80;  // percent; broken when below
  bool operator==(const AlertThresholds&) const = default;
};

struct Analytics {
  int retention_period_days = 30;
  bool real_time_monitoring = true;
  AlertThresholds alert_thresholds;
  bool operator==(const Analytics&) const = default;
};

struct Metrics {
  std::string listen = "127.0.0.1:9464";  // empty: off
  // Seconds a connection may wait for its next request, and the longest that reading a request
  // or writing a response may take; the connection is closed past it.
  double idle_timeout = 5;
  int max_connections = 64;  // connections served at once; more are closed at once
  bool operator==(const Metrics&) const = default;
};

// Section 8: the pacer releases each target's contacts one at a time into its ready list.
struct Pacing {
  bool enabled = true;
  std::uint64_t ahead = 2;         // items a ready list may hold (or one second's releases)
  double jitter = 0.3;             // u in [-jitter, +jitter] for every webjs gap
  std::uint64_t daily_cap = 1000;  // webjs releases per day, unless the workspace sets its own
  struct Warmup {
    std::int64_t days = 14;  // 0: no warm-up
    std::uint64_t start_per_day = 50;
    bool operator==(const Warmup&) const = default;
  } warmup;
  struct Adaptive {
    bool enabled = true;
    double decrease = 0.5;
    double increase = 0.1;
    double min_factor = 0.1;
    double report_grace = 300;  // seconds
    double min_reported = 50;   // percent
    bool operator==(const Adaptive&) const = default;
  } adaptive;
  // Meta's moving window of unique recipients (CONTRACT.md section 9): 24 h. Shorter only for
  // tests, which cannot wait a day for a budget to free.
  std::int64_t meta_budget_window = 86400;  // seconds
  bool operator==(const Pacing&) const = default;
};

enum class LogFormat { text, json };

struct Logging {
  std::string level = "info";  // trace debug info warn error critical off
  LogFormat format = LogFormat::text;
  bool operator==(const Logging&) const = default;
};

struct Config {
  Redis redis;
  Queue queue;
  Results results;
  Retry retry;
  Selection selection;
  Health health;
  LoadBalancing load_balancing;
  Analytics analytics;
  Pacing pacing;
  Metrics metrics;
  Logging logging;
  bool operator==(const Config&) const = default;
};

// Thrown by the loaders. what() lists every problem found, one per line, each naming the key
// (`health.min_score_primary: expected an integer 0-100, got "high"`).
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  ConfigError(std::vector<std::string> printable_problems, int);
  std::vector<std::string> problems_;
};

// Parses YAML text. `origin` names the source in messages (a file path, or "<string>").
Config load_from_string(const std::string& yaml, const std::string& origin = "<string>");
// Reads and parses a file; an unreadable file is a ConfigError naming the path.
Config load_from_file(const std::string& path);

const char* to_string(Strategy s) noexcept;
const char* to_string(LogFormat f) noexcept;

}  // namespace wa::config
