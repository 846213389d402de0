#include "redis/reply.hpp"

#include <hiredis/hiredis.h>

#include <cassert>

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

const redisReply* as_reply(const void* r) noexcept {
  return static_cast<const redisReply*>(r);
}

Reply::Type type_of(const redisReply* r) noexcept {
  switch (r->type) {
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

}  // namespace

const boost::system::error_category& category() noexcept {
  static const Category c;
  return c;
}

bool is_cluster_retry(std::string_view error) noexcept {
  const std::string_view code = error.substr(0, error.find(' '));
  return code == "MOVED" || code == "ASK" || code == "TRYAGAIN" || code == "CLUSTERDOWN";
}

bool is_refusal(std::string_view error) noexcept {
  const std::string_view code = error.substr(0, error.find(' '));
  // An ACL user not allowed a command (CONFIG, say): about the command, not the server's state.
  if (code == "NOPERM" && error.find("permissions to run") != std::string_view::npos) return false;
  for (const std::string_view c :
       {"READONLY", "OOM", "MISCONF", "NOAUTH", "WRONGPASS", "NOPERM", "LOADING", "BUSY",
        "MASTERDOWN", "NOREPLICAS", "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (code == c) return true;
  }
  return false;
}

Reply copy_of(const void* redis_reply) {
  const redisReply* r = as_reply(redis_reply);
  Reply out;
  out.type = type_of(r);
  switch (out.type) {
    case Reply::Type::string:
    case Reply::Type::status:
    case Reply::Type::error:
      out.str.assign(r->str, r->len);
      break;
    case Reply::Type::integer:
      out.integer = r->integer;
      break;
    case Reply::Type::array:
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(copy_of(r->element[i]));
      break;
    case Reply::Type::nil:
      break;
  }
  return out;
}

ReplyView view_of(const void* redis_reply) noexcept {
  return ReplyView(redis_reply);
}

Reply::Type ReplyView::type() const noexcept {
  return type_of(as_reply(r_));
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

}  // namespace wa::redis
