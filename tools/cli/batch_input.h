// One line of a --batch-file: plain text (the prompt itself) or, when it starts with '{', a JSON
// object {"id": ..., "prompt": "..."} or {"id": ..., "messages": [{"role": ..., "content": ...}]},
// with an optional "n_predict" (or "max_tokens"). Other keys are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/chat_template.h"

namespace st {

struct BatchRequest {
  size_t line = 0;                    // 1-based line number in the file
  nlohmann::ordered_json id;          // the line's "id", else its line number
  std::optional<std::string> prompt;  // a plain line or "prompt"
  std::vector<ChatMessage> messages;  // "messages" (non-empty when there is no prompt)
  std::optional<int32_t> n_predict;   // "n_predict" / "max_tokens"; -1 = until the end
  std::string error;                  // why the line cannot run; empty when it can
};

// True for an empty or whitespace-only line (skipped: it produces no result).
bool IsBlankBatchLine(std::string_view line);

// Parses one line (without its newline). Never fails: a bad line comes back with `error` set and
// `id` as far as it could be read.
BatchRequest ParseBatchLine(std::string_view line, size_t line_no);

}  // namespace st
