// The status page's HTML (daemon/status_page.html, turned into a C++ string at build time by
// daemon/CMakeLists.txt): one self-contained page that polls /status.json.
#pragma once

#include <string_view>

namespace wa::daemon {

std::string_view status_page_html();

}  // namespace wa::daemon
