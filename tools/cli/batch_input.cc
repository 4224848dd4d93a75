#include "cli/batch_input.h"

#include <fmt/format.h>

#include <climits>

#include "cli/cli_args.h"

namespace st {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] "; keep what follows.
std::string JsonErrorMessage(const std::exception& e) {
  std::string m = e.what();
  if (!m.empty() && m[0] == '[') {
    const size_t end = m.find("] ");
    if (end != std::string::npos) m = m.substr(end + 2);
  }
  return m;
}

std::string ParseMessages(const nlohmann::ordered_json& j, std::vector<ChatMessage>* out) {
  if (!j.is_array()) return "\"messages\" must be an array of {\"role\", \"content\"} objects";
  if (j.empty()) return "\"messages\" is empty";
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& m = j[i];
    if (!m.is_object()) return fmt::format("\"messages\"[{}] must be an object with \"role\" and \"content\"", i);
    const auto role = m.find("role");
    const auto content = m.find("content");
    if (role == m.end() || !role->is_string() || role->get<std::string>().empty()) {
      return fmt::format("\"messages\"[{}].role must be a non-empty string", i);
    }
    if (content == m.end() || !content->is_string()) {
      return fmt::format("\"messages\"[{}].content must be a string", i);
    }
    out->push_back({role->get<std::string>(), content->get<std::string>(), std::nullopt});
  }
  return "";
}

std::string ParseCount(const nlohmann::ordered_json& j, const char* name, std::optional<int32_t>* out) {
  // An unsigned value is read as one: 2^64-1 as int64_t would wrap to -1 ("until the end").
  if (!j.is_number_integer() || (j.is_number_unsigned() && j.get<uint64_t>() > INT32_MAX) ||
      j.get<int64_t>() < -1 || j.get<int64_t>() > INT32_MAX) {
    return fmt::format("\"{}\" must be an integer >= -1 (-1 = until the end)", name);
  }
  *out = static_cast<int32_t>(j.get<int64_t>());
  return "";
}

}  // namespace

bool IsBlankBatchLine(std::string_view line) { return line.find_first_not_of(" \t\r\n") == std::string_view::npos; }

BatchRequest ParseBatchLine(std::string_view line, size_t line_no) {
  BatchRequest r;
  r.line = line_no;
  r.id = line_no;
  const size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos || line[first] != '{') {
    if (const size_t bad = FirstInvalidUtf8(std::string(line)); bad != line.size()) {
      r.error = fmt::format("the prompt is not valid UTF-8 (byte {} of {})", bad, line.size());
    } else if (line.empty()) {
      r.error = "empty prompt";
    } else {
      r.prompt = std::string(line);
    }
    return r;
  }
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(line);
  } catch (const std::exception& e) {
    r.error = "bad JSON: " + JsonErrorMessage(e);
    return r;
  }
  if (!j.is_object()) {
    r.error = "bad JSON: expected an object";
    return r;
  }
  if (const auto id = j.find("id"); id != j.end()) {
    if (!id->is_string() && !id->is_number()) {
      r.error = "\"id\" must be a string or a number";
      return r;
    }
    r.id = *id;
  }
  const auto prompt = j.find("prompt");
  const auto messages = j.find("messages");
  if (prompt != j.end() && messages != j.end()) {
    r.error = "give \"prompt\" or \"messages\", not both";
    return r;
  }
  if (prompt == j.end() && messages == j.end()) {
    r.error = "missing \"prompt\" (a string) or \"messages\" (an array)";
    return r;
  }
  if (prompt != j.end()) {
    if (!prompt->is_string()) {
      r.error = "\"prompt\" must be a string";
      return r;
    }
    if (prompt->get<std::string>().empty()) {
      r.error = "empty prompt";
      return r;
    }
    r.prompt = prompt->get<std::string>();
  } else if (std::string e = ParseMessages(*messages, &r.messages); !e.empty()) {
    r.error = e;
    return r;
  }
  const auto n_predict = j.find("n_predict");
  const auto max_tokens = j.find("max_tokens");
  if (n_predict != j.end() && max_tokens != j.end()) {
    r.error = "give \"n_predict\" or \"max_tokens\", not both";
  } else if (n_predict != j.end()) {
    r.error = ParseCount(*n_predict, "n_predict", &r.n_predict);
  } else if (max_tokens != j.end()) {
    r.error = ParseCount(*max_tokens, "max_tokens", &r.n_predict);
  }
  return r;
}

}  // namespace st
