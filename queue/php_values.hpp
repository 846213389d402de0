// Values the app wrote through phpredis with Laravel's `serializer` option on (e.g.
// `'serializer' => Redis::SERIALIZER_PHP` in config/database.php): phpredis then stores every
// hash value, set member and list element as PHP's serialize() writes it (`s:9:"connected";`,
// `i:7;`), so the daemon would find no session named `s:5:"s-7-a";` and no status
// `s:9:"connected";`. The readers of the app's hashes and sets decode the simple scalars so that
// service goes on, and report each key once per read, naming the option to turn off.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/codec.hpp"

namespace wa::queue {

// The plain value of a PHP-serialized scalar: `s:N:"…";` (exactly N bytes), `i:N;`, `d:X;`,
// `b:0;`/`b:1;` (as "0"/"1"), `N;` (null, as ""). A view into `v`; nothing when `v` is not one.
std::optional<std::string_view> php_serialized_scalar(std::string_view v);

// The warning for a PHP-serialized value `raw` found in `key` (`what`: "field status", "member"),
// naming the option to turn off.
std::string php_serialized_warning(std::string_view key, std::string_view what,
                                   std::string_view raw);

// Decodes PHP-serialized values found in the app's hashes and sets, collecting one warning per
// key (the first value found there). The decoded views point into the replies read.
class PhpValues {
 public:
  // A set member of `key`, decoded when it is PHP-serialized.
  std::string_view member(std::string_view key, std::string_view v);
  // Every value of the hash `key`, decoded in place where it is PHP-serialized.
  void fields(std::string_view key, Fields& f);

  std::vector<std::string> warnings;

 private:
  std::string last_key_;  // the key of the last warning: one per key
  void warn(std::string_view key, std::string_view what, std::string_view raw,
            std::string_view plain);
};

}  // namespace wa::queue
