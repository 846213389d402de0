#include "redis/reader.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <stdexcept>

namespace wa::redis {

Reader::Reader() : r_(redisReaderCreate()) {
  if (r_ == nullptr) throw std::bad_alloc();
}

Reader::~Reader() {
  redisReaderFree(r_);
}

void Reader::feed(const char* data, std::size_t size) {
  if (redisReaderFeed(r_, data, size) != REDIS_OK) {
    throw std::runtime_error(std::string("Redis protocol error: ") + r_->errstr);
  }
}

Reader::Tree Reader::next() {
  void* reply = nullptr;
  if (redisReaderGetReply(r_, &reply) != REDIS_OK) {
    throw std::runtime_error(std::string("Redis protocol error: ") + r_->errstr);
  }
  return Tree(reply, &freeReplyObject);
}

}  // namespace wa::redis
