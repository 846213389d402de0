// hiredis's RESP reader behind a small owner: bytes in, reply trees out. No socket.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct redisReader;

namespace wa::redis {

class Reader {
 public:
  // A reply tree (a redisReply*), freed with it.
  using Tree = std::unique_ptr<void, void (*)(void*)>;

  Reader();
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  void feed(const char* data, std::size_t size);
  // The next complete reply (an empty Tree: none yet). Throws std::runtime_error on a protocol
  // error (the stream is then unusable).
  Tree next();

 private:
  redisReader* r_;
};

}  // namespace wa::redis
