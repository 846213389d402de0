// Helpers of the fault and process tests: bulk job seeding, an exactly-once audit of everything
// the daemon wrote, and a tiny HTTP client over POSIX sockets.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "queue/score.hpp"

namespace wa::test::fault {

namespace json = boost::json;

inline const std::string kQueue = "queues:wa-campaigns";
inline const std::string kNotify = kQueue + ":notify";
inline const std::string kReserved = kQueue + ":reserved";
inline const std::string kDelayed = kQueue + ":delayed";
inline const std::string kDead = kQueue + ":dead";
inline const std::string kDeliveries = kQueue + ":deliveries";

inline long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Job i (i ≥ 1): job_id "j<i>", campaign i, workspace "1", direct mode, `per` contacts
// i*100 … i*100+per-1 (so every campaign's dispatch lists can be checked exactly).
inline std::string job_payload(int i, int per) {
  std::string contacts;
  for (int k = 0; k < per; ++k) {
    if (k) contacts += ',';
    contacts += std::to_string(i * 100 + k);
  }
  return R"({"job_id":"j)" + std::to_string(i) + R"(","campaign_id":)" + std::to_string(i) +
         R"(,"workspace_id":"1","template_mode":"direct","contacts":[)" + contacts + "]}";
}

// RPUSHes jobs first … first+count-1 with one notify entry each (what Laravel's pushRaw does).
// `prefix`: the config's redis.prefix, before every key (here and in the helpers below).
inline void push_jobs(Client& c, int first, int count, int per, const std::string& prefix = "") {
  constexpr int kChunk = 500;
  for (int done = 0; done < count; done += kChunk) {
    const int n = std::min(kChunk, count - done);
    std::vector<std::string> push{"RPUSH", prefix + kQueue};
    std::vector<std::string> notify{"RPUSH", prefix + kNotify};
    for (int k = 0; k < n; ++k) {
      push.push_back(job_payload(first + done + k, per));
      notify.emplace_back("1");
    }
    c.cmd(push);
    c.cmd(notify);
  }
}

// Two connected webjs sessions of workspace 1 with stored health, so that every job is served.
inline void seed_two_sessions(Client& c, const std::string& prefix = "") {
  seed_session(c, {.id = "s1", .primary = true, .health = 100}, prefix);
  seed_session(c, {.id = "s2", .health = 100}, prefix);
}

inline long long results_len(Client& c, const std::string& prefix = "") {
  return c.integer({"LLEN", prefix + "wa:results"});
}

// True when nothing is pending: queue, reserved and delayed empty.
inline bool drained(Client& c, const std::string& prefix = "") {
  return c.integer({"LLEN", prefix + kQueue}) == 0 &&
         c.integer({"ZCARD", prefix + kReserved}) == 0 &&
         c.integer({"ZCARD", prefix + kDelayed}) == 0;
}

inline std::optional<json::object> parse_object(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

inline std::string str_of(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Decision records (records with a "type") on wa:results, by job_id; other records are
// returned in `events`.
struct ResultsView {
  std::map<std::string, int> decisions;      // job_id → records
  std::map<std::string, std::string> types;  // job_id → last type
  std::vector<std::string> events;           // non-decision records (raw)
  std::vector<std::string> order;            // job_ids of decision records in list order
  int unparsable = 0;
};

inline ResultsView read_results(Client& c, const std::string& prefix = "") {
  ResultsView v;
  for (const auto& raw : c.list(prefix + "wa:results")) {
    const auto o = parse_object(raw);
    if (!o) {
      ++v.unparsable;
      continue;
    }
    if (o->if_contains("type") == nullptr) {
      v.events.push_back(raw);
      continue;
    }
    const std::string id = str_of(*o, "job_id");
    ++v.decisions[id];
    v.types[id] = str_of(*o, "type");
    v.order.push_back(id);
  }
  return v;
}

// Every contact of each campaign's dispatch lists, by campaign id (lists in key order), and
// whether every list kept its contacts in input (ascending) order.
struct DispatchView {
  std::map<int, std::vector<long long>> contacts;
  std::map<std::string, std::vector<std::string>> lists;
  std::vector<std::string> out_of_order;
};

inline DispatchView read_dispatch(Client& c, const std::string& prefix = "") {
  DispatchView v;
  const std::string pattern = prefix + "wa:dispatch:";
  std::string glob;  // the prefix with glob-special characters escaped
  for (const char ch : pattern) {
    if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') glob += '\\';
    glob += ch;
  }
  for (const auto& key : c.cmd({"KEYS", glob + "*"}).strings()) {
    const std::string rest = key.substr(pattern.size());
    const int campaign = std::stoi(rest.substr(0, rest.find(':')));
    auto items = c.list(key);
    long long last = -1;
    for (const auto& s : items) {
      const long long n = std::stoll(s);
      if (n <= last) v.out_of_order.push_back(key);
      last = n;
      v.contacts[campaign].push_back(n);
    }
    v.lists[key] = std::move(items);
  }
  return v;
}

// The exactly-once audit of jobs first … first+count-1 (see job_payload): each decided by
// exactly one `webjs` record, each campaign's contacts in its dispatch lists exactly once, no
// other decision or dead record, and queue, notify, reserved, delayed and dead empty.
inline ::testing::AssertionResult audit_jobs(Client& c, int first, int count, int per,
                                             const std::string& prefix = "") {
  std::ostringstream err;
  int problems = 0;
  auto note = [&](const std::string& m) {
    if (problems++ < 25) err << "  " << m << "\n";
  };
  for (const auto& [cmd, key] :
       std::vector<std::pair<std::string, std::string>>{{"LLEN", prefix + kQueue},
                                                        {"LLEN", prefix + kNotify},
                                                        {"ZCARD", prefix + kReserved},
                                                        {"ZCARD", prefix + kDelayed},
                                                        {"LLEN", prefix + kDead}}) {
    const long long n = c.integer({cmd, key});
    if (n != 0) note(key + " holds " + std::to_string(n) + " entries, expected none");
  }
  const ResultsView r = read_results(c, prefix);
  if (r.unparsable) note(std::to_string(r.unparsable) + " records on wa:results are not JSON");
  for (const auto& e : r.events)
    note("unexpected record on wa:results: " + e.substr(0, 200));
  std::set<std::string> expected;
  for (int i = first; i < first + count; ++i)
    expected.insert("j" + std::to_string(i));
  for (const auto& id : expected) {
    const auto it = r.decisions.find(id);
    const int n = it == r.decisions.end() ? 0 : it->second;
    if (n != 1)
      note("job " + id + " has " + std::to_string(n) + " decision records");
    else if (r.types.at(id) != "webjs")
      note("job " + id + " decided " + r.types.at(id));
  }
  for (const auto& [id, n] : r.decisions) {
    if (!expected.count(id)) note("decision for an unknown job " + id);
  }
  const DispatchView d = read_dispatch(c, prefix);
  for (const auto& key : d.out_of_order)
    note(key + " is not in input order");
  for (int i = first; i < first + count; ++i) {
    std::vector<long long> want;
    for (int k = 0; k < per; ++k)
      want.push_back(i * 100LL + k);
    const auto it = d.contacts.find(i);
    std::vector<long long> got = it == d.contacts.end() ? std::vector<long long>{} : it->second;
    std::sort(got.begin(), got.end());
    if (got != want) {
      note("campaign " + std::to_string(i) + " dispatched " + std::to_string(got.size()) +
           " contacts, expected each of " + std::to_string(per) + " exactly once");
    }
  }
  for (const auto& [campaign, _] : d.contacts) {
    if (campaign < first || campaign >= first + count) {
      note("dispatch lists of an unknown campaign " + std::to_string(campaign));
    }
  }
  if (problems == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << problems << " problems:\n" << err.str();
}

// Occurrences of `needle` in `hay`.
inline int count_of(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1))
    ++n;
  return n;
}

// ---- HTTP over plain POSIX sockets ----

// A TCP socket listening on 127.0.0.1 (port 0: any free port), closed at destruction.
class Listener {
 public:
  explicit Listener(int port = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 4) != 0) {
      throw std::runtime_error("test listener: cannot bind");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  int port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port that was free a moment ago (bound to port 0, then released).
inline int free_port() {
  return Listener().port();
}

struct HttpResponse {
  int status = 0;
  std::string headers;  // the header lines as received
  std::string body;
};

// GET http://127.0.0.1:port/path (Connection: close); nullopt when nothing answers in time.
inline std::optional<HttpResponse> http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string raw;
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return std::nullopt;
  HttpResponse out;
  out.status = std::atoi(raw.c_str() + 9);
  const auto sep = raw.find("\r\n\r\n");
  if (sep != std::string::npos) {
    out.headers = raw.substr(0, sep);
    out.body = raw.substr(sep + 4);
  }
  return out;
}

}  // namespace wa::test::fault
