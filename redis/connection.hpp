// One connection to Redis, kept alive, driven by a Boost.Asio event loop.
//
// Asio owns the stream (redis/stream.hpp: TCP, unix socket or TLS); commands go out in RESP
// (Wire), replies are parsed by hiredis's reader (redis/reader.hpp). The protocol decisions are
// pure steps, run here: where to connect (redis/resolve.hpp: direct, through Sentinel, or the
// master of the prefix's slot in a Redis Cluster; re-resolved on READONLY / MOVED / ASK), the
// connection attempt and handshake (redis/connect_fsm.hpp), reconnect delays
// (redis/backoff.hpp) and per-request deadlines (redis/deadlines.hpp).
//
// Commands are sent in pipelined batches; a batch completes once with every reply, or with an
// error code when its outcome is unknown (the connection was lost or a reply took longer than
// the timeout). No completion handler ever runs inside a call into the connection: completions
// are posted.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "redis/backoff.hpp"
#include "redis/connect_fsm.hpp"
#include "redis/deadlines.hpp"
#include "redis/endpoint.hpp"
#include "redis/reply.hpp"
#include "redis/resolve.hpp"

namespace wa::redis {

namespace asio = boost::asio;

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
  const Refusal& last_refusal() const noexcept { return refusal_; }
  // The master connected to last ("host:port"), in Sentinel and cluster modes; "" otherwise.
  const std::string& master() const noexcept { return master_; }
  // New credentials (a reload): `ep`'s username, password, sentinel_username and
  // sentinel_password, used from the next connection attempt on.
  void set_credentials(const Endpoint& ep);
  // Called on every change between ready and not ready, and after every failed attempt, with
  // the reason ("authentication failed: WRONGPASS ...", "... certificate verification failed:
  // ..."). Always posted.
  void on_state(StateListener l) { listener_ = std::move(l); }
  const asio::any_io_executor& executor() const noexcept { return ex_; }
  // Starts writing the commands submitted so far, if a write is not under way already (one
  // starts on submission anyway). Completions are still posted, never run inside this call.
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
  enum class State { idle, resolving, connecting, ready, stopped };
  struct Batch;
  struct Link;
  using Clock = std::chrono::steady_clock;

  Connection(asio::any_io_executor ex, Endpoint ep, std::string name);
  void submit(Wire wire, Visitor visitor, Handler h, std::chrono::milliseconds extra);
  void enqueue(std::unique_ptr<Batch> b, const Wire& wire, Clock::time_point deadline);
  void connect();
  void resolved(const ResolveFsm::Action& a);
  void ask(const Target& t);
  void open(const Target& t);
  void step(ConnectFsm::Action action);
  void lookup();
  void connect_transport();
  void tls_handshake();
  void hello();
  void fail_attempt(std::string message);
  void become_ready();
  void read(const std::shared_ptr<Link>& link);
  void lost(error_code ec);
  void on_data(std::size_t n);
  void deliver(void* tree);
  void write(const std::shared_ptr<Link>& link);
  void complete_front();
  void drop(Errc why, std::string message);
  void fail_in_flight(Errc why);
  void schedule_reconnect();
  void arm_timer(Clock::time_point at);
  void on_timer();
  void set_state(State s, const std::string& why);

  asio::any_io_executor ex_;
  Endpoint ep_;
  std::string name_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer timer_;  // the connect deadline, then the earliest batch deadline
  Clock::time_point armed_at_ = Clock::time_point::max();
  asio::steady_timer reconnect_timer_;
  State state_ = State::idle;
  ResolveFsm resolve_;
  std::unique_ptr<ConnectFsm> attempt_;
  std::shared_ptr<Link> link_;
  Clock::time_point connect_deadline_;
  std::deque<std::unique_ptr<Batch>> in_flight_;
  Deadlines deadlines_;
  Backoff backoff_;
  std::minstd_rand rng_;
  ConnectionStats stats_;
  std::string why_;  // why the connection is not ready (for the listener)
  Refusal refusal_;
  StateListener listener_;
  std::shared_ptr<Connection> probe_;  // the Sentinel or cluster node asked for the master
  std::string master_;                 // where the master is (Sentinel and cluster modes)
};

}  // namespace wa::redis
