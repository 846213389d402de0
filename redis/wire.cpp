#include <cassert>
#include <charconv>

#include "redis/reply.hpp"

namespace wa::redis {

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

}  // namespace wa::redis
