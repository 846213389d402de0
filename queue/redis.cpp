#include "queue/redis.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cassert>
#include <charconv>

namespace wa::redis {

namespace {

class Category : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "wa.redis"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::not_connected:
        return "not connected to Redis";
      case Errc::connection_lost:
        return "connection to Redis lost (outcome unknown)";
      case Errc::timeout:
        return "Redis command timed out (outcome unknown)";
      case Errc::stopped:
        return "Redis connection stopped";
      case Errc::busy:
        return "a blocking Redis command is in flight on this connection (nothing sent)";
    }
    return "unknown Redis error";
  }
};

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::nil;
  }
  return out;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

const boost::system::error_category& category() noexcept {
  static const Category c;
  return c;
}

bool is_refusal(std::string_view error) noexcept {
  const std::string_view code = error.substr(0, error.find(' '));
  for (const std::string_view c : {"READONLY", "OOM", "MISCONF", "NOAUTH", "WRONGPASS", "NOPERM",
                                   "LOADING", "BUSY", "MASTERDOWN", "NOREPLICAS"}) {
    if (code == c) return true;
  }
  return false;
}

std::string Endpoint::describe() const {
  if (!sentinels.empty()) return "master \"" + master_name + "\" (via Sentinel)";
  if (!unix_socket.empty()) return "unix:" + unix_socket + (db ? "/" + std::to_string(db) : "");
  return host + ":" + std::to_string(port) + (db ? "/" + std::to_string(db) : "");
}

struct Connection::Batch {
  // Constructed with its handler: Boost 1.81's any_completion_handler move-assignment recurses.
  explicit Batch(Handler h) : handler(std::move(h)) {}
  std::vector<Reply> replies;
  std::size_t remaining = 0;
  error_code ec;
  Handler handler;
  Visitor visitor;
  bool blocking = false;  // holds a blocking command
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
      sd_(ex),
      tick_timer_(ex),
      reconnect_timer_(ex),
      backoff_(ep_.reconnect_min),
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
  if (auto probe = std::exchange(sentinel_, nullptr)) probe->stop();
  reconnect_timer_.cancel();
  resolver_.cancel();
  tick_timer_.cancel();
  drop(Errc::stopped, "stopped");
  if (was_ready && listener_) {
    asio::post(ex_, [l = listener_] { l(false, "stopped"); });
  }
}

void Connection::set_state(State s, const std::string& why) {
  const bool was_ready = state_ == State::ready;
  if (state_ == State::stopped && s != State::stopped) return;
  state_ = s;
  const bool now_ready = s == State::ready;
  if (was_ready != now_ready && listener_) {
    // Posted: a listener may call back into the connection, never from inside hiredis.
    asio::post(ex_, [w = weak_from_this(), now_ready, why] {
      if (auto self = w.lock(); self && self->listener_) self->listener_(now_ready, why);
    });
  }
}

void Connection::connect() {
  if (state_ == State::stopped) return;
  if (!ep_.sentinels.empty()) {
    state_ = State::resolving;
    resolve_master(0);
  } else if (!ep_.unix_socket.empty()) {
    open("", 0);
  } else {
    connect_to(ep_.host, ep_.port);
  }
}

void Connection::resolve_master(std::size_t index) {
  if (state_ != State::resolving) return;
  if (index >= ep_.sentinels.size()) {
    last_error_ =
        "no Sentinel answered for master \"" + ep_.master_name + "\" (" + last_error_ + ")";
    ++stats_.failures;
    schedule_reconnect();
    return;
  }
  Endpoint sep;
  sep.host = ep_.sentinels[index].first;
  sep.port = ep_.sentinels[index].second;
  sep.connect_timeout = ep_.connect_timeout;
  sep.command_timeout = ep_.command_timeout;
  sep.sentinel_probe = true;
  auto probe = Connection::create(ex_, sep, name_ + "-sentinel");
  sentinel_ = probe;
  const std::string where = sep.host + ":" + std::to_string(sep.port);
  probe->on_state([w = weak_from_this(), p = std::weak_ptr<Connection>(probe), index, where](
                      bool ready, const std::string& why) {
    auto self = w.lock();
    auto probe = p.lock();
    if (!self || !probe || self->sentinel_ != probe) return;
    if (!ready) {  // this Sentinel is unreachable: the next one
      self->last_error_ = "Sentinel " + where + ": " + why;
      self->sentinel_.reset();
      probe->stop();
      self->resolve_master(index + 1);
      return;
    }
    probe->async_exec({{"SENTINEL", "get-master-addr-by-name", self->ep_.master_name}},
                      [w, p, index, where](error_code ec, std::vector<Reply> replies) {
                        auto self = w.lock();
                        auto probe = p.lock();
                        if (!self || !probe || self->sentinel_ != probe) return;
                        self->sentinel_.reset();
                        probe->stop();
                        const bool ok = !ec && replies.size() == 1 && replies[0].is_array() &&
                                        replies[0].elements.size() == 2;
                        int port = 0;
                        if (ok) {
                          try {
                            port = std::stoi(replies[0].elements[1].str);
                          } catch (...) {
                          }
                        }
                        if (!ok || port <= 0) {
                          self->last_error_ = "Sentinel " + where + " does not know master \"" +
                                              self->ep_.master_name + "\"";
                          self->resolve_master(index + 1);
                          return;
                        }
                        const std::string host = replies[0].elements[0].str;
                        self->master_ = host + ":" + std::to_string(port);
                        self->connect_to(host, port);
                      });
  });
  probe->start();
}

void Connection::connect_to(const std::string& host, int port) {
  if (is_ip_literal(host)) {
    open(host, port);
    return;
  }
  state_ = State::resolving;
  resolver_.async_resolve(host, std::to_string(port),
                          [w = weak_from_this(), host, port](
                              error_code ec, asio::ip::tcp::resolver::results_type results) {
                            auto self = w.lock();
                            if (!self || self->state_ != State::resolving) return;
                            if (ec || results.empty()) {
                              self->last_error_ = "cannot resolve " + host + ": " + ec.message();
                              ++self->stats_.failures;
                              self->schedule_reconnect();
                              return;
                            }
                            self->open(results.begin()->endpoint().address().to_string(), port);
                          });
}

void Connection::open(const std::string& ip, int port) {
  redisAsyncContext* c = ep_.unix_socket.empty() || !ep_.sentinels.empty()
                             ? redisAsyncConnect(ip.c_str(), port)
                             : redisAsyncConnectUnix(ep_.unix_socket.c_str());
  if (c == nullptr || c->err) {
    last_error_ = c ? c->errstr : "out of memory";
    if (c) redisAsyncFree(c);
    ++stats_.failures;
    schedule_reconnect();
    return;
  }
  ++generation_;
  ctx_ = c;
  c->data = this;
  c->ev.data = this;
  c->ev.addRead = &Connection::ev_add_read;
  c->ev.delRead = &Connection::ev_del_read;
  c->ev.addWrite = &Connection::ev_add_write;
  c->ev.delWrite = &Connection::ev_del_write;
  c->ev.cleanup = &Connection::ev_cleanup;
  error_code ec;
  sd_.assign(c->c.fd, ec);
  if (ec) {
    last_error_ = "cannot watch the Redis socket: " + ec.message();
    drop(Errc::connection_lost, last_error_);
    return;
  }
  state_ = State::connecting;
  connect_deadline_ = std::chrono::steady_clock::now() + ep_.connect_timeout;
  // The hooks are attached first: setting the connect callback arms a write at once.
  redisAsyncSetConnectCallback(c, &Connection::on_connect);
  redisAsyncSetDisconnectCallback(c, &Connection::on_disconnect);
  arm_tick();
}

void Connection::on_connect(const redisAsyncContext* c, int status) {
  auto* self = static_cast<Connection*>(c->data);
  if (self == nullptr) return;
  if (status != REDIS_OK) {
    // hiredis frees the context when this returns; the cleanup hook detaches us.
    self->last_error_ = c->errstr[0] ? c->errstr : "connect failed";
    ++self->stats_.failures;
    self->schedule_reconnect();
    return;
  }
  self->handshake();
}

void Connection::handshake() {
  state_ = State::handshaking;
  std::vector<Command> cmds;
  if (!ep_.password.empty()) cmds.push_back({"AUTH", ep_.password});
  if (ep_.db != 0) cmds.push_back({"SELECT", std::to_string(ep_.db)});
  cmds.push_back({"CLIENT", "SETNAME", "wa-routerd:" + name_});
  cmds.push_back({"PING"});  // fails with LOADING while Redis loads its data set
  const bool check_role = !ep_.sentinels.empty();
  if (check_role) cmds.push_back({"ROLE"});  // a Sentinel's answer can be stale: must be master
  auto* b = new Batch(
      Handler([w = weak_from_this(), check_role](error_code ec, std::vector<Reply> replies) {
        auto self = w.lock();
        if (!self || self->state_ != State::handshaking) return;
        if (ec) return;  // the loss itself schedules the reconnect
        for (std::size_t i = 0; i < replies.size(); ++i) {
          const Reply& r = replies[i];
          if (!r.is_error()) continue;
          // A wrong password (the AUTH reply) or none where one is needed (NOAUTH to the rest).
          const bool auth = (i == 0 && !self->ep_.password.empty()) ||
                            r.str.starts_with("NOAUTH") || r.str.starts_with("WRONGPASS");
          self->drop(Errc::connection_lost,
                     (auth ? "authentication failed: " : "Redis refused the handshake: ") + r.str);
          return;
        }
        if (check_role) {
          const Reply& role = replies.back();
          if (!role.is_array() || role.elements.empty() || role.elements[0].str != "master") {
            self->drop(Errc::connection_lost,
                       self->master_ + " is not a master (yet): asking the Sentinels again");
            return;
          }
        }
        self->become_ready();
      }));
  b->remaining = cmds.size();
  in_flight_.emplace_back(connect_deadline_, b);
  send(b, Wire::of(cmds));
}

void Connection::become_ready() {
  backoff_ = ep_.reconnect_min;
  ++stats_.connects;
  last_error_.clear();
  set_state(State::ready, "connected to " + ep_.describe() +
                              (master_.empty() ? std::string() : " at " + master_));
}

void Connection::submit(Wire wire, Visitor visitor, Handler h, std::chrono::milliseconds extra) {
  if (state_ != State::ready || ctx_ == nullptr) {
    asio::post(ex_, [h = std::move(h), stopped = state_ == State::stopped]() mutable {
      std::move(h)(make_error_code(stopped ? Errc::stopped : Errc::not_connected),
                   std::vector<Reply>{});
    });
    return;
  }
  if (wire.commands() == 0) {
    asio::post(ex_,
               [h = std::move(h)]() mutable { std::move(h)(error_code{}, std::vector<Reply>{}); });
    return;
  }
  const bool blocked = std::any_of(in_flight_.begin(), in_flight_.end(),
                                   [](const auto& e) { return e.second->blocking; });
  if (blocked) {
    asio::post(ex_, [h = std::move(h)]() mutable {
      std::move(h)(make_error_code(Errc::busy), std::vector<Reply>{});
    });
    return;
  }
  auto* b = new Batch(std::move(h));
  b->blocking = extra.count() > 0;
  b->remaining = wire.commands();
  b->replies.reserve(wire.commands());
  b->visitor = std::move(visitor);
  in_flight_.emplace_back(std::chrono::steady_clock::now() + ep_.command_timeout + extra, b);
  send(b, wire);
}

namespace {

void append_decimal(std::string& out, std::size_t n) {
  char buf[24];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

const redisReply* as_reply(const void* r) noexcept {
  return static_cast<const redisReply*>(r);
}

}  // namespace

// RESP as redisFormatSdsCommandArgv makes it, without its generic formatter and growing buffer.
void Wire::command(std::size_t args) {
  assert(open_ == 0 && args > 0);
  starts_.push_back(bytes_.size());
  open_ = args;
  bytes_.push_back('*');
  append_decimal(bytes_, args);
  bytes_.append("\r\n");
}

void Wire::arg(std::string_view a) {
  assert(open_ > 0);
  --open_;
  bytes_.push_back('$');
  append_decimal(bytes_, a.size());
  bytes_.append("\r\n");
  bytes_.append(a);
  bytes_.append("\r\n");
}

void Wire::arg(long long n) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  (void)ec;  // 24 characters hold any long long
  arg(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

Wire Wire::of(const std::vector<Command>& cmds) {
  std::size_t total = 0;
  for (const Command& cmd : cmds) {
    total += 16;
    for (const std::string& a : cmd)
      total += a.size() + 16;
  }
  Wire w;
  w.reserve(total);
  for (const Command& cmd : cmds) {
    w.command(cmd.size());
    for (const std::string& a : cmd)
      w.arg(a);
  }
  return w;
}

Reply::Type ReplyView::type() const noexcept {
  switch (as_reply(r_)->type) {
    case REDIS_REPLY_STRING:
      return Reply::Type::string;
    case REDIS_REPLY_STATUS:
      return Reply::Type::status;
    case REDIS_REPLY_ERROR:
      return Reply::Type::error;
    case REDIS_REPLY_INTEGER:
      return Reply::Type::integer;
    case REDIS_REPLY_ARRAY:
      return Reply::Type::array;
    default:
      return Reply::Type::nil;
  }
}

std::string_view ReplyView::str() const noexcept {
  const redisReply* r = as_reply(r_);
  const bool has_str = r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
                       r->type == REDIS_REPLY_ERROR;
  return has_str ? std::string_view(r->str, r->len) : std::string_view();
}

long long ReplyView::integer() const noexcept {
  const redisReply* r = as_reply(r_);
  return r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
}

std::size_t ReplyView::size() const noexcept {
  const redisReply* r = as_reply(r_);
  return r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}

ReplyView ReplyView::operator[](std::size_t i) const noexcept {
  assert(i < size());
  return ReplyView(as_reply(r_)->element[i]);
}

void Connection::flush() {
  if (ctx_ == nullptr || !writing_ || state_ != State::ready) return;
  // May free the context (a failed write): the hooks and callbacks cope, as for a write event.
  redisAsyncHandleWrite(ctx_);
}

void Connection::send(Batch* b, const Wire& wire) {
  assert(wire.complete());
  // hiredis appends each command to its output buffer (a growing sds: a batch of a megabyte is
  // reallocated and copied many times over). The whole batch goes in with the first command's
  // callback; every other command registers its callback with no bytes of its own (hiredis
  // reads the command's name from `cmd` to spot SUBSCRIBE and the like, and appends `len`
  // bytes: zero). Replies still come one per command, in order.
  bool appended = false;
  const std::string& bytes = wire.bytes();
  for (std::size_t i = 0; i < wire.commands(); ++i) {
    // (When the first command is refused, so are the others: its bytes carry theirs.)
    const bool ok_so_far = i == 0 || appended;
    const int rc =
        ctx_ == nullptr || !ok_so_far
            ? REDIS_ERR
            : redisAsyncFormattedCommand(ctx_, &Connection::on_reply, b,
                                         bytes.data() + wire.start(i), i == 0 ? bytes.size() : 0);
    if (i == 0) appended = rc == REDIS_OK;
    if (rc != REDIS_OK) {
      b->ec = make_error_code(Errc::connection_lost);
      if (--b->remaining == 0) {
        auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                               [b](const auto& e) { return e.second == b; });
        if (it != in_flight_.end()) in_flight_.erase(it);
        asio::post(ex_, [h = std::move(b->handler), ec = b->ec,
                         r = std::move(b->replies)]() mutable { std::move(h)(ec, std::move(r)); });
        delete b;
        return;
      }
    }
  }
}

void Connection::on_reply(redisAsyncContext* c, void* reply, void* privdata) {
  auto* self = static_cast<Connection*>(c->data);
  auto* b = static_cast<Batch*>(privdata);
  if (reply == nullptr) {
    if (!b->ec) {
      b->ec = make_error_code(self && self->dropping_ ? self->drop_reason_ : Errc::connection_lost);
    }
    b->replies.emplace_back();
  } else {
    const auto* rr = static_cast<const redisReply*>(reply);
    if (!b->visitor) {
      b->replies.push_back(convert(rr));
    } else {
      // Read in place; the handler gets the array's count, not a copy of its elements.
      Reply shallow;
      if (rr->type == REDIS_REPLY_ARRAY) {
        shallow.type = Reply::Type::array;
        shallow.integer = static_cast<long long>(rr->elements);
      } else {
        shallow = convert(rr);
      }
      try {
        b->visitor(b->replies.size(), ReplyView(rr));
      } catch (const std::exception& e) {
        shallow =
            Reply{Reply::Type::error, std::string("reply visitor failed: ") + e.what(), 0, {}};
      }
      b->replies.push_back(std::move(shallow));
    }
    const Reply& r = b->replies.back();
    if (self != nullptr && r.is_error() && is_refusal(r.str)) {
      self->refusal_ = Refusal{r.str, std::chrono::steady_clock::now()};
    }
    if (self != nullptr && !self->ep_.sentinels.empty() && r.is_error() &&
        r.str.starts_with("READONLY")) {
      // The master we know was demoted by a failover: find the new one (never from inside
      // hiredis, hence posted).
      asio::post(self->ex_, [w = self->weak_from_this()] {
        if (auto s = w.lock()) {
          s->drop(Errc::connection_lost, s->master_ + " is a replica now: asking the Sentinels");
        }
      });
    }
  }
  if (--b->remaining != 0) return;
  if (self != nullptr) {
    auto it = std::find_if(self->in_flight_.begin(), self->in_flight_.end(),
                           [b](const auto& e) { return e.second == b; });
    if (it != self->in_flight_.end()) self->in_flight_.erase(it);
    asio::post(self->ex_,
               [h = std::move(b->handler), ec = b->ec, r = std::move(b->replies)]() mutable {
                 std::move(h)(ec, std::move(r));
               });
  }
  delete b;
}

void Connection::on_disconnect(const redisAsyncContext* c, int status) {
  auto* self = static_cast<Connection*>(c->data);
  if (self == nullptr || self->dropping_) return;  // drop() handles its own losses
  // The server closed the connection or a read/write failed; hiredis frees the context next.
  self->last_error_ =
      status == REDIS_OK ? "connection closed" : (c->errstr[0] ? c->errstr : "I/O error");
  ++self->stats_.disconnects;
  self->schedule_reconnect();
}

void Connection::drop(Errc why, const std::string& message) {
  if (ctx_ == nullptr) return;
  const bool was_established = state_ == State::ready || state_ == State::handshaking;
  dropping_ = true;
  drop_reason_ = why;
  last_error_ = message;
  redisAsyncFree(ctx_);  // completes every pending batch with `why`, then the cleanup hook
  ctx_ = nullptr;
  dropping_ = false;
  if (was_established && why != Errc::stopped) ++stats_.disconnects;
  if (state_ != State::stopped) schedule_reconnect();
}

void Connection::schedule_reconnect() {
  if (state_ == State::stopped) return;
  const bool was_ready = state_ == State::ready;
  set_state(State::idle, last_error_);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  const auto delay = std::chrono::milliseconds(
      static_cast<long long>(static_cast<double>(backoff_.count()) * jitter(rng_)));
  if (!was_ready && listener_) {
    // A failed attempt (never ready): tell the listener too, so operators see why.
    asio::post(ex_, [w = weak_from_this(), why = last_error_, delay] {
      if (auto self = w.lock(); self && self->listener_) {
        self->listener_(false, why + "; retrying in " + std::to_string(delay.count()) + " ms");
      }
    });
  }
  backoff_ = std::min(ep_.reconnect_max, backoff_ * 2);
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([w = weak_from_this()](error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->state_ != State::idle) return;
    self->connect();
  });
}

void Connection::arm_tick() {
  tick_timer_.expires_after(std::chrono::milliseconds(100));
  tick_timer_.async_wait([w = weak_from_this(), gen = generation_](error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->ctx_ == nullptr || gen != self->generation_) return;
    self->tick();
  });
}

void Connection::tick() {
  const auto now = std::chrono::steady_clock::now();
  if ((state_ == State::connecting || state_ == State::handshaking) && now > connect_deadline_) {
    ++stats_.failures;
    drop(Errc::timeout, "connecting to " + ep_.describe() + " timed out");
    return;
  }
  if (!in_flight_.empty() && now > in_flight_.front().first) {
    ++stats_.timeouts;
    drop(Errc::timeout, "no reply from " + ep_.describe() + " in time");
    return;
  }
  arm_tick();
}

void Connection::ev_add_read(void* p) {
  auto* self = static_cast<Connection*>(p);
  self->reading_ = true;
  self->wait_read();
}

void Connection::ev_del_read(void* p) {
  static_cast<Connection*>(p)->reading_ = false;
}

void Connection::ev_add_write(void* p) {
  auto* self = static_cast<Connection*>(p);
  self->writing_ = true;
  self->wait_write();
}

void Connection::ev_del_write(void* p) {
  static_cast<Connection*>(p)->writing_ = false;
}

void Connection::ev_cleanup(void* p) {
  static_cast<Connection*>(p)->detach();
}

void Connection::detach() {
  reading_ = writing_ = false;
  read_armed_ = write_armed_ = false;
  error_code ec;
  sd_.cancel(ec);
  (void)sd_.release();  // hiredis closes its own socket
  ctx_ = nullptr;
  ++generation_;
}

void Connection::wait_read() {
  if (read_armed_ || ctx_ == nullptr) return;
  read_armed_ = true;
  sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                 [w = weak_from_this(), gen = generation_](error_code ec) {
                   auto self = w.lock();
                   if (!self || gen != self->generation_) return;
                   self->read_armed_ = false;
                   if (ec || self->ctx_ == nullptr || !self->reading_) return;
                   redisAsyncHandleRead(self->ctx_);
                   // The context may be gone now (a closed connection frees it).
                   if (gen == self->generation_ && self->reading_) self->wait_read();
                 });
}

void Connection::wait_write() {
  if (write_armed_ || ctx_ == nullptr) return;
  write_armed_ = true;
  sd_.async_wait(asio::posix::stream_descriptor::wait_write,
                 [w = weak_from_this(), gen = generation_](error_code ec) {
                   auto self = w.lock();
                   if (!self || gen != self->generation_) return;
                   self->write_armed_ = false;
                   if (ec || self->ctx_ == nullptr || !self->writing_) return;
                   redisAsyncHandleWrite(self->ctx_);
                   if (gen == self->generation_ && self->writing_) self->wait_write();
                 });
}

}  // namespace wa::redis
