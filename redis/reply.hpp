// Commands and replies of the Redis protocol, independent of any socket: the RESP writer
// (Wire), owned replies (Reply), replies read in place (ReplyView), and the layer's one error
// code enum (Errc).
#pragma once

#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace wa::redis {

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
  friend ReplyView view_of(const void* redis_reply) noexcept;
  explicit ReplyView(const void* r) noexcept : r_(r) {}
  const void* r_;
};

// For the connection: a view of, or a copy of, a reply tree hiredis's reader built.
ReplyView view_of(const void* redis_reply) noexcept;
Reply copy_of(const void* redis_reply);

// Called with every reply of a batch (its index, the reply in place) as it is read: it must not
// use the Connection, and whatever it refers to must outlive the batch. The batch's handler then
// gets arrays without their elements (`integer` holds their count); other replies are copied as
// usual. A visitor that throws turns its reply into an error reply carrying the exception's
// message.
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

// True for an error reply saying Redis refuses commands because of its state rather than
// because of the command: READONLY, OOM, MISCONF, NOAUTH, WRONGPASS, NOPERM, LOADING, BUSY,
// MASTERDOWN, NOREPLICAS, and Redis Cluster's MOVED, ASK, TRYAGAIN, CLUSTERDOWN (the
// command ran nowhere: it is resent once the connection found the slot's master) (NOPERM for keys
// or channels; not for a command the ACL user may not run, which is about the command).
bool is_refusal(std::string_view error) noexcept;

// True for Redis Cluster's MOVED, ASK, TRYAGAIN and CLUSTERDOWN: the command ran nowhere and is
// to be sent again once the connection knows the slot's master (it re-resolves on MOVED / ASK).
bool is_cluster_retry(std::string_view error) noexcept;

// The last such error reply a connection got, and when (`error` empty: none yet).
struct Refusal {
  std::string error;
  std::chrono::steady_clock::time_point at;
};

}  // namespace wa::redis

template <>
struct boost::system::is_error_code_enum<wa::redis::Errc> : std::true_type {};
