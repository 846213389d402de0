// Standard base64 (RFC 4648, "+/" alphabet): the dead list's payload_base64 (section 5).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wa::core {

// With "=" padding.
std::string base64_encode(std::string_view bytes);
// With or without padding; nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace wa::core
