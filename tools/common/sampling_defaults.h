// SmallThinker's recommended sampling (the authors' command lines; spec §7): the default of the
// CLI and of the server's requests.
#pragma once

#include <cstdint>

namespace st {

// SmallThinker's recommended sampling (the authors' command lines; spec §7), the CLI's default.
// llama.cpp's defaults differ: --temp 0.8 --top-k 40 --top-p 0.95 --min-p 0.05
// --samplers "penalties;top_k;top_p;min_p;temperature".
// The penalties and min_p stages are in the chain so that --repeat-penalty and --min-p work; with
// their defaults (1.0 and 0) they do nothing, so the chain equals the authors'
// "temperature;top_k;top_p".
inline constexpr float kDefaultTemp = 0.6f;
inline constexpr int32_t kDefaultTopK = 20;
inline constexpr float kDefaultTopP = 0.95f;
inline constexpr float kDefaultMinP = 0.0f;
inline constexpr const char* kDefaultSamplers = "penalties;temperature;top_k;top_p;min_p";

}  // namespace st
