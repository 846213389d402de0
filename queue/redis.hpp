// hiredis 0.14's async API driven by a Boost.Asio event loop.
//
// One Connection owns at most one redisAsyncContext at a time and keeps it alive: it connects
// (TCP after an async name lookup, or a unix socket), authenticates, selects the database, and
// on any loss reconnects after a capped, jittered exponential backoff. Commands are sent in
// pipelined batches; a batch completes once with every reply, or with an error code when its
// outcome is unknown (the connection was lost or a reply took longer than the timeout, which
// hiredis 0.14 does not enforce itself).
//
// hiredis owns the socket: Asio only waits on it (posix::stream_descriptor) and releases it in
// hiredis's cleanup hook, never closing it. hiredis may free the context inside
// redisAsyncHandleRead/Write; every use after such a call re-checks that the context is alive.
// No completion handler ever runs inside a hiredis callback: completions are posted.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

struct redisAsyncContext;

namespace wa::redis {

namespace asio = boost::asio;
using boost::system::error_code;

// A reply, owned (copied out of hiredis's reply tree).
struct Reply {
  enum class Type { nil, string, status, error, integer, array };
  Type type = Type::nil;
  std::string str;  // string, status and error replies
  long long integer = 0;
  std::vector<Reply> elements;

  bool is_nil() const noexcept { return type == Type::nil; }
  bool is_error() const noexcept { return type == Type::error; }
  bool is_string() const noexcept { return type == Type::string || type == Type::status; }
  bool is_array() const noexcept { return type == Type::array; }
  bool is_integer() const noexcept { return type == Type::integer; }
};

using Command = std::vector<std::string>;

// Commands already in RESP, back to back: for bulk writes, built straight from the data
// without a Command (a vector of strings) per call. command(n) opens a command of n arguments;
// exactly n arg() calls follow it.
class Wire {
 public:
  static Wire of(const std::vector<Command>& cmds);  // the same commands, in RESP
  void reserve(std::size_t bytes) { bytes_.reserve(bytes); }
  void command(std::size_t args);
  void arg(std::string_view a);
  void arg(long long n);
  std::size_t commands() const noexcept { return starts_.size(); }
  bool complete() const noexcept { return open_ == 0; }
  const std::string& bytes() const noexcept { return bytes_; }
  std::size_t start(std::size_t i) const noexcept { return starts_[i]; }

 private:
  std::string bytes_;
  std::vector<std::size_t> starts_;  // offset of each command in bytes_
  std::size_t open_ = 0;             // arguments the last command still expects
};

// One reply inside hiredis's reply tree, read in place (no copy): valid only during the
// Visitor call that received it.
class ReplyView {
 public:
  Reply::Type type() const noexcept;
  bool is_array() const noexcept { return type() == Reply::Type::array; }
  std::string_view str() const noexcept;  // string, status and error replies
  long long integer() const noexcept;
  std::size_t size() const noexcept;                   // elements of an array
  ReplyView operator[](std::size_t i) const noexcept;  // i < size()

 private:
  friend class Connection;
  explicit ReplyView(const void* r) noexcept : r_(r) {}
  const void* r_;
};

// Called with every reply of a batch (its index, the reply in place) as it is read, inside
// hiredis's read callback: it must not use the Connection, and whatever it refers to must
// outlive the batch. The batch's handler then gets arrays without their elements (`integer`
// holds their count); other replies are copied as usual. A visitor that throws turns its reply
// into an error reply carrying the exception's message.
using Visitor = std::function<void(std::size_t index, ReplyView reply)>;

enum class Errc {
  not_connected = 1,  // nothing was sent
  connection_lost,    // sent, outcome unknown
  timeout,            // sent, no reply in time: the connection is dropped, outcome unknown
  stopped,            // the connection was stopped
  busy,               // nothing was sent: a blocking command is in flight on this connection
};
const boost::system::error_category& category() noexcept;
inline error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), category()};
}

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;
  std::string password;
  int db = 0;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  // Redis Sentinel: when non-empty, the master is asked of these ("host", port) in order under
  // master_name before every connection, checked with ROLE, and re-resolved when it turns out
  // to be a replica (a READONLY error); host/port/unix_socket are then unused.
  std::vector<std::pair<std::string, int>> sentinels;
  std::string master_name;
  bool sentinel_probe = false;  // this connection talks to a Sentinel itself (no SELECT, no ROLE)
  std::string describe() const;
};

// True for an error reply saying Redis refuses commands because of its state rather than
// because of the command: READONLY, OOM, MISCONF, NOAUTH, WRONGPASS, NOPERM, LOADING, BUSY,
// MASTERDOWN, NOREPLICAS.
bool is_refusal(std::string_view error) noexcept;

// The last such error reply a connection got, and when (`error` empty: none yet).
struct Refusal {
  std::string error;
  std::chrono::steady_clock::time_point at;
};

struct ConnectionStats {
  std::uint64_t connects = 0;     // successful handshakes
  std::uint64_t disconnects = 0;  // losses of an established connection
  std::uint64_t timeouts = 0;     // commands that timed out
  std::uint64_t failures = 0;     // failed connection attempts
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Handler = asio::any_completion_handler<void(error_code, std::vector<Reply>)>;
  using StateListener = std::function<void(bool ready, const std::string& why)>;

  static std::shared_ptr<Connection> create(asio::any_io_executor ex, Endpoint ep,
                                            std::string name);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();  // connects now and keeps reconnecting until stop()
  void stop();   // drops the connection; pending batches complete with Errc::stopped
  bool ready() const noexcept { return state_ == State::ready; }
  const std::string& name() const noexcept { return name_; }
  const Endpoint& endpoint() const noexcept { return ep_; }
  const ConnectionStats& stats() const noexcept { return stats_; }
  // Why the connection is not ready ("authentication failed: WRONGPASS ..." for a refused AUTH).
  const std::string& last_error() const noexcept { return last_error_; }
  const Refusal& last_refusal() const noexcept { return refusal_; }
  // Called on every change between ready and not ready (never from inside hiredis).
  void on_state(StateListener l) { listener_ = std::move(l); }
  const asio::any_io_executor& executor() const noexcept { return ex_; }
  // Writes the commands submitted so far to the socket now, as far as it takes them, instead of
  // when the event loop next runs: for a caller about to compute for a while with commands
  // in flight. Completions are still posted, never run inside this call.
  void flush();

  // Sends the commands as one pipelined batch. `extra` lengthens the timeout and marks a batch
  // with a blocking command (BLPOP): while one is in flight, nothing else is sent on the
  // connection (a batch submitted meanwhile completes with Errc::busy), so that no command ever
  // waits behind a blocked one and outlasts its own timeout.
  template <typename Token>
  auto async_exec(std::vector<Command> cmds, Token&& token,
                  std::chrono::milliseconds extra = std::chrono::milliseconds{0}) {
    return asio::async_initiate<Token, void(error_code, std::vector<Reply>)>(
        [this, extra](auto handler, std::vector<Command> c) {
          submit(Wire::of(c), {}, Handler(std::move(handler)), extra);
        },
        token, std::move(cmds));
  }

  // The same for commands already in RESP; a visitor, when given, reads each reply in place.
  template <typename Token>
  auto async_exec(Wire wire, Visitor visitor, Token&& token,
                  std::chrono::milliseconds extra = std::chrono::milliseconds{0}) {
    return asio::async_initiate<Token, void(error_code, std::vector<Reply>)>(
        [this, extra](auto handler, Wire w, Visitor v) {
          submit(std::move(w), std::move(v), Handler(std::move(handler)), extra);
        },
        token, std::move(wire), std::move(visitor));
  }

 private:
  enum class State { idle, resolving, connecting, handshaking, ready, stopped };
  struct Batch;

  Connection(asio::any_io_executor ex, Endpoint ep, std::string name);
  void submit(Wire wire, Visitor visitor, Handler h, std::chrono::milliseconds extra);
  void send(Batch* b, const Wire& wire);
  void connect();
  void resolve_master(std::size_t index);
  void connect_to(const std::string& host, int port);
  void open(const std::string& ip, int port);
  void handshake();
  void become_ready();
  void drop(Errc why, const std::string& message);
  void schedule_reconnect();
  void tick();
  void arm_tick();
  void set_state(State s, const std::string& why);

  // hiredis hooks.
  static void on_connect(const redisAsyncContext* c, int status);
  static void on_disconnect(const redisAsyncContext* c, int status);
  static void on_reply(redisAsyncContext* c, void* reply, void* privdata);
  static void ev_add_read(void* p);
  static void ev_del_read(void* p);
  static void ev_add_write(void* p);
  static void ev_del_write(void* p);
  static void ev_cleanup(void* p);
  void wait_read();
  void wait_write();
  void detach();

  asio::any_io_executor ex_;
  Endpoint ep_;
  std::string name_;
  asio::ip::tcp::resolver resolver_;
  asio::posix::stream_descriptor sd_;
  asio::steady_timer tick_timer_;
  asio::steady_timer reconnect_timer_;
  redisAsyncContext* ctx_ = nullptr;
  State state_ = State::idle;
  bool reading_ = false, writing_ = false;
  bool read_armed_ = false, write_armed_ = false;
  std::uint64_t generation_ = 0;  // bumps on every new context; stale waits ignore themselves
  bool dropping_ = false;
  Errc drop_reason_ = Errc::connection_lost;
  std::chrono::steady_clock::time_point connect_deadline_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, Batch*>> in_flight_;
  std::chrono::milliseconds backoff_;
  std::minstd_rand rng_;
  ConnectionStats stats_;
  std::string last_error_;
  Refusal refusal_;
  StateListener listener_;
  std::shared_ptr<Connection> sentinel_;  // the Sentinel being asked for the master
  std::string master_;                    // "ip:port" of the master in use (Sentinel mode)
};

}  // namespace wa::redis

template <>
struct boost::system::is_error_code_enum<wa::redis::Errc> : std::true_type {};
