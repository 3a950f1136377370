// The files of config/ compiled into the binary, so tyq runs with its defaults from any folder.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tyq {

/// Content of config/<name> as it was at build time. Throws tyq::Error for an unknown name.
std::string_view embeddedConfig(std::string_view name);

/// Names of all embedded files.
std::vector<std::string> embeddedConfigNames();

} // namespace tyq
