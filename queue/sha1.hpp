// SHA-1 of a string as 40 lowercase hex digits: the name Redis gives a Lua script (EVALSHA).
#pragma once

#include <string>
#include <string_view>

namespace wa::queue {
std::string sha1_hex(std::string_view data);
}
