#include "redis/connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <cassert>

#include "redis/connect_fsm.hpp"
#include "redis/reader.hpp"
#include "redis/stream.hpp"

namespace wa::redis {

struct Connection::Batch {
  // Constructed with its handler: Boost 1.81's any_completion_handler move-assignment recurses.
  explicit Batch(Handler h) : handler(std::move(h)) {}
  std::vector<Reply> replies;
  std::size_t remaining = 0;
  Handler handler;
  Visitor visitor;
  bool blocking = false;  // holds a blocking command
};

// One connection attempt and, once it succeeds, the established stream. Callbacks hold it and
// ignore themselves once the connection has moved on to another (or none).
struct Connection::Link {
  std::unique_ptr<asio::ssl::context> tls;  // before the stream, which refers to it
  std::unique_ptr<Stream> stream;
  asio::ip::tcp::resolver::results_type addresses;
  Reader reader;
  std::string out;      // submitted, not yet being written
  std::string sending;  // being written
  bool writing = false;
  std::vector<char> in = std::vector<char>(64 * 1024);
};

std::shared_ptr<Connection> Connection::create(asio::any_io_executor ex, Endpoint ep,
                                               std::string name) {
  return std::shared_ptr<Connection>(new Connection(std::move(ex), std::move(ep), std::move(name)));
}

Connection::Connection(asio::any_io_executor ex, Endpoint ep, std::string name)
    : ex_(ex),
      ep_(std::move(ep)),
      name_(std::move(name)),
      resolver_(ex),
      timer_(ex),
      reconnect_timer_(ex),
      resolve_(ep_),
      backoff_(ep_.reconnect_min, ep_.reconnect_max),
      rng_(std::random_device{}()) {}

Connection::~Connection() {
  state_ = State::stopped;
  drop(Errc::stopped, "stopped");
}

void Connection::start() {
  if (state_ != State::idle && state_ != State::stopped) return;
  state_ = State::idle;
  connect();
}

void Connection::stop() {
  const bool was_ready = state_ == State::ready;
  state_ = State::stopped;
  if (auto probe = std::exchange(probe_, nullptr)) probe->stop();
  reconnect_timer_.cancel();
  resolver_.cancel();
  drop(Errc::stopped, "stopped");
  if (was_ready && listener_) {
    asio::post(ex_, [l = listener_] { l(false, "stopped"); });
  }
}

void Connection::set_credentials(const Endpoint& ep) {
  ep_.username = ep.username;
  ep_.password = ep.password;
  ep_.sentinel_username = ep.sentinel_username;
  ep_.sentinel_password = ep.sentinel_password;
}

void Connection::set_state(State s, const std::string& why) {
  const bool was_ready = state_ == State::ready;
  if (state_ == State::stopped && s != State::stopped) return;
  state_ = s;
  const bool now_ready = s == State::ready;
  if (was_ready != now_ready && listener_) {
    // Posted: a listener may call back into the connection.
    asio::post(ex_, [w = weak_from_this(), now_ready, why] {
      if (auto self = w.lock(); self && self->listener_) self->listener_(now_ready, why);
    });
  }
}

// ---- Where to connect (direct or through Sentinel) ----

void Connection::connect() {
  if (state_ == State::stopped) return;
  state_ = State::resolving;
  resolved(resolve_.start());
}

void Connection::resolved(const ResolveFsm::Action& a) {
  if (state_ != State::resolving) return;
  switch (a.kind) {
    case ResolveFsm::Action::Kind::connect:
      open(a.target);
      return;
    case ResolveFsm::Action::Kind::ask_sentinel:
    case ResolveFsm::Action::Kind::ask_node:
      ask(a.target);
      return;
    case ResolveFsm::Action::Kind::fail:
      why_ = a.message;
      ++stats_.failures;
      schedule_reconnect();
      return;
  }
}

// A short-lived connection to a Sentinel or a cluster node, asked where the master is.
void Connection::ask(const Target& t) {
  auto probe = Connection::create(ex_, resolve_.probe_endpoint(ep_, t),
                                  name_ + (ep_.cluster ? "-probe" : "-sentinel"));
  probe_ = probe;
  probe->on_state([w = weak_from_this(), p = std::weak_ptr<Connection>(probe)](
                      bool ready, const std::string& why) {
    auto self = w.lock();
    auto probe = p.lock();
    if (!self || !probe || self->probe_ != probe) return;
    if (!ready) {  // this one is unreachable: the next one
      self->probe_.reset();
      probe->stop();
      self->resolved(self->resolve_.on_probe_down(why));
      return;
    }
    probe->async_exec({self->resolve_.query()}, [w, p](error_code ec, std::vector<Reply> r) {
      auto self = w.lock();
      auto probe = p.lock();
      if (!self || !probe || self->probe_ != probe) return;
      self->probe_.reset();
      probe->stop();
      self->resolved(self->resolve_.on_probe_reply(ec, r));
    });
  });
  probe->start();
}

// ---- One connection attempt ----

void Connection::open(const Target& t) {
  if (resolve_.mode() != ResolveFsm::Mode::direct) master_ = t.where();
  state_ = State::connecting;
  link_ = std::make_shared<Link>();
  attempt_ = std::make_unique<ConnectFsm>(ep_, t, name_);
  connect_deadline_ = Clock::now() + ep_.connect_timeout;
  arm_timer(connect_deadline_);
  step(attempt_->start());
}

void Connection::step(ConnectFsm::Action action) {
  if (state_ != State::connecting || !attempt_) return;
  switch (action) {
    case ConnectFsm::Action::lookup:
      return lookup();
    case ConnectFsm::Action::connect:
      return connect_transport();
    case ConnectFsm::Action::tls_handshake:
      return tls_handshake();
    case ConnectFsm::Action::hello:
      return hello();
    case ConnectFsm::Action::ready:
      return become_ready();
    case ConnectFsm::Action::fail:
      return fail_attempt(attempt_->message());
  }
}

void Connection::lookup() {
  const Target& t = attempt_->target();
  resolver_.async_resolve(t.host, std::to_string(t.port),
                          [w = weak_from_this(), link = link_](
                              error_code ec, asio::ip::tcp::resolver::results_type results) {
                            auto self = w.lock();
                            if (!self || self->link_ != link) return;
                            if (!ec && results.empty()) ec = asio::error::host_not_found;
                            link->addresses = std::move(results);
                            self->step(self->attempt_->on_lookup(ec));
                          });
}

void Connection::connect_transport() {
  const Target& t = attempt_->target();
  auto done = [w = weak_from_this(), link = link_](error_code ec, auto&&...) {
    auto self = w.lock();
    if (!self || self->link_ != link) return;
    self->step(self->attempt_->on_connect(ec));
  };
  if (!t.unix_socket.empty()) {
    link_->stream = std::make_unique<Stream>(Stream::Unix(ex_));
    link_->stream->unix_socket().async_connect(
        asio::local::stream_protocol::endpoint(t.unix_socket), std::move(done));
    return;
  }
  if (attempt_->tls()) {
    try {
      link_->tls = make_tls_context(ep_.tls);
    } catch (const std::exception& e) {
      return fail_attempt(std::string("TLS settings: ") + e.what());
    }
    link_->stream = std::make_unique<Stream>(ex_, *link_->tls);
  } else {
    link_->stream = std::make_unique<Stream>(Stream::Tcp(ex_));
  }
  if (link_->addresses.empty()) {
    const asio::ip::tcp::endpoint e(asio::ip::make_address(t.host),
                                    static_cast<unsigned short>(t.port));
    link_->stream->tcp().async_connect(e, std::move(done));
  } else {
    asio::async_connect(link_->stream->tcp(), link_->addresses, std::move(done));
  }
}

void Connection::tls_handshake() {
  Stream::Tls& s = *link_->stream->tls();
  prepare_tls(s, ep_.tls, attempt_->target().host);
  s.async_handshake(
      asio::ssl::stream_base::client, [w = weak_from_this(), link = link_](error_code ec) {
        auto self = w.lock();
        if (!self || self->link_ != link) return;
        const std::string bad = ec ? verify_failure(*link->stream->tls(), self->ep_.tls) : "";
        self->step(self->attempt_->on_tls(ec, bad));
      });
}

void Connection::hello() {
  auto b = std::make_unique<Batch>(
      Handler([w = weak_from_this(), link = link_](error_code ec, std::vector<Reply> replies) {
        auto self = w.lock();
        if (!self || self->link_ != link) return;
        self->step(self->attempt_->on_hello(ec, replies));
      }));
  read(link_);
  enqueue(std::move(b), Wire::of(attempt_->hello()), connect_deadline_);
}

void Connection::fail_attempt(std::string message) {
  ++stats_.failures;
  drop(Errc::connection_lost, std::move(message));
}

void Connection::become_ready() {
  backoff_.reset();
  ++stats_.connects;
  why_.clear();
  attempt_.reset();
  set_state(State::ready, "connected to " + ep_.describe() +
                              (master_.empty() ? std::string() : " at " + master_));
  if (auto next = deadlines_.next()) arm_timer(*next);
}

// ---- Batches ----

void Connection::submit(Wire wire, Visitor visitor, Handler h, std::chrono::milliseconds extra) {
  auto post_error = [this](Handler h, Errc e) {
    asio::post(ex_, [h = std::move(h), e]() mutable {
      std::move(h)(make_error_code(e), std::vector<Reply>{});
    });
  };
  if (state_ != State::ready) {
    return post_error(std::move(h), state_ == State::stopped ? Errc::stopped : Errc::not_connected);
  }
  if (wire.commands() == 0) {
    asio::post(ex_,
               [h = std::move(h)]() mutable { std::move(h)(error_code{}, std::vector<Reply>{}); });
    return;
  }
  for (const auto& b : in_flight_) {
    if (b->blocking) return post_error(std::move(h), Errc::busy);
  }
  auto b = std::make_unique<Batch>(std::move(h));
  b->blocking = extra.count() > 0;
  b->replies.reserve(wire.commands());
  b->visitor = std::move(visitor);
  enqueue(std::move(b), wire, Clock::now() + ep_.command_timeout + extra);
}

void Connection::enqueue(std::unique_ptr<Batch> b, const Wire& wire, Clock::time_point deadline) {
  assert(wire.complete());
  b->remaining = wire.commands();
  in_flight_.push_back(std::move(b));
  deadlines_.push(deadline);
  if (state_ == State::ready) arm_timer(deadline);
  link_->out.append(wire.bytes());
  write(link_);
}

void Connection::flush() {
  if (link_) write(link_);
}

void Connection::write(const std::shared_ptr<Link>& link) {
  if (link->writing || link->out.empty() || !link->stream) return;
  link->writing = true;
  link->sending.clear();
  std::swap(link->sending, link->out);
  link->stream->async_write(asio::buffer(link->sending),
                            [w = weak_from_this(), link](error_code ec, std::size_t) {
                              link->writing = false;
                              auto self = w.lock();
                              if (!self || self->link_ != link) return;
                              if (ec) return self->lost(ec);
                              self->write(link);
                            });
}

void Connection::read(const std::shared_ptr<Link>& link) {
  link->stream->async_read_some(asio::buffer(link->in),
                                [w = weak_from_this(), link](error_code ec, std::size_t n) {
                                  auto self = w.lock();
                                  if (!self || self->link_ != link) return;
                                  if (ec) return self->lost(ec);
                                  self->on_data(n);
                                  if (self->link_ == link) self->read(link);
                                });
}

// The stream failed or the server closed it: during an attempt, the attempt failed (a server
// that wants a client certificate says so only now, after the TLS handshake).
void Connection::lost(error_code ec) {
  const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
  if (state_ == State::connecting && attempt_) return step(attempt_->on_hello(ec, {}));
  drop(Errc::connection_lost, eof ? "connection closed" : ec.message());
}

void Connection::on_data(std::size_t n) {
  const std::shared_ptr<Link> link = link_;
  try {
    link->reader.feed(link->in.data(), n);
    while (link_ == link) {
      Reader::Tree tree = link->reader.next();
      if (!tree) break;
      deliver(tree.get());
    }
  } catch (const std::exception& e) {
    drop(Errc::connection_lost, e.what());
  }
}

void Connection::deliver(void* tree) {
  if (in_flight_.empty()) return drop(Errc::connection_lost, "a reply nobody asked for");
  Batch& b = *in_flight_.front();
  if (!b.visitor) {
    b.replies.push_back(copy_of(tree));
  } else {
    // Read in place; the handler gets the array's count, not a copy of its elements.
    const ReplyView view = view_of(tree);
    Reply shallow;
    if (view.is_array()) {
      shallow.type = Reply::Type::array;
      shallow.integer = static_cast<long long>(view.size());
    } else {
      shallow = copy_of(tree);
    }
    try {
      b.visitor(b.replies.size(), view);
    } catch (const std::exception& e) {
      shallow = Reply{Reply::Type::error, std::string("reply visitor failed: ") + e.what(), 0, {}};
    }
    b.replies.push_back(std::move(shallow));
  }
  const Reply& r = b.replies.back();
  if (r.is_error() && is_refusal(r.str)) refusal_ = Refusal{r.str, Clock::now()};
  if (r.is_error() && state_ == State::ready && resolve_.on_error_reply(r.str)) {
    // The master we know was demoted by a failover, or (cluster) the slot lives elsewhere now:
    // find the master again, after this reply (the batch completes with it as usual).
    const std::string why = resolve_.mode() == ResolveFsm::Mode::cluster
                                ? master_ + " answered " + r.str + ": asking the cluster"
                                : master_ + " is a replica now: asking the Sentinels";
    asio::post(ex_, [w = weak_from_this(), link = link_, why] {
      auto s = w.lock();
      if (s && s->link_ == link) s->drop(Errc::connection_lost, why);
    });
  }
  if (--b.remaining == 0) complete_front();
}

void Connection::complete_front() {
  std::unique_ptr<Batch> b = std::move(in_flight_.front());
  in_flight_.pop_front();
  deadlines_.pop();
  asio::post(ex_, [h = std::move(b->handler), r = std::move(b->replies)]() mutable {
    std::move(h)(error_code{}, std::move(r));
  });
}

// ---- Losses, timeouts and reconnects ----

void Connection::drop(Errc why, std::string message) {
  if (!link_) {
    fail_in_flight(why);
    return;
  }
  why_ = std::move(message);  // first: it may refer to the attempt's own message
  const bool was_ready = state_ == State::ready;
  if (link_->stream) link_->stream->close();
  link_.reset();
  attempt_.reset();
  fail_in_flight(why);
  if (was_ready && why != Errc::stopped) ++stats_.disconnects;
  if (state_ != State::stopped) schedule_reconnect();
}

void Connection::fail_in_flight(Errc why) {
  deadlines_.clear();
  timer_.cancel();
  armed_at_ = Clock::time_point::max();
  while (!in_flight_.empty()) {
    std::unique_ptr<Batch> b = std::move(in_flight_.front());
    in_flight_.pop_front();
    asio::post(ex_, [h = std::move(b->handler), why, r = std::move(b->replies)]() mutable {
      std::move(h)(make_error_code(why), std::move(r));
    });
  }
}

void Connection::schedule_reconnect() {
  if (state_ == State::stopped) return;
  const bool was_ready = state_ == State::ready;
  set_state(State::idle, why_);
  const auto delay = backoff_.next(std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
  if (!was_ready && listener_) {
    // A failed attempt (never ready): tell the listener too, so operators see why.
    asio::post(ex_, [w = weak_from_this(), why = why_, delay] {
      if (auto self = w.lock(); self && self->listener_) {
        self->listener_(false, why + "; retrying in " + std::to_string(delay.count()) + " ms");
      }
    });
  }
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([w = weak_from_this()](error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->state_ != State::idle) return;
    self->connect();
  });
}

void Connection::arm_timer(Clock::time_point at) {
  if (at >= armed_at_) return;  // an earlier wake-up is already due; it re-arms for this one
  armed_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([w = weak_from_this(), at](error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->armed_at_ != at) return;
    self->armed_at_ = Clock::time_point::max();
    self->on_timer();
  });
}

void Connection::on_timer() {
  const auto now = Clock::now();
  if (state_ == State::connecting && attempt_) {
    if (now >= connect_deadline_) return step(attempt_->on_timeout());
    return arm_timer(connect_deadline_);
  }
  if (state_ != State::ready) return;
  if (deadlines_.expired(now)) {
    ++stats_.timeouts;
    return drop(Errc::timeout, "no reply from " + ep_.describe() + " in time");
  }
  if (auto next = deadlines_.next()) arm_timer(*next);
}

}  // namespace wa::redis
