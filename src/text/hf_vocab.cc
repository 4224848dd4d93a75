#include "text/hf_vocab.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "format/gguf_writer.h"

namespace st {

namespace {

using nlohmann::json;

constexpr const char* kTok = "tokenizer.json";
constexpr const char* kCfg = "tokenizer_config.json";

Status Bad(const char* file, const std::string& what) { return InvalidFile(fmt::format("{}: {}", file, what)); }

Result<json> Parse(const std::string& text, const char* file) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad(file, "not valid JSON");
  if (!j.is_object()) return Bad(file, "the top level is not a JSON object");
  return j;
}

// A token string from a config field that may be a string or {"content": "..."}; nullopt if absent.
std::optional<std::string> TokenField(const json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return std::nullopt;
}

// obj[key] if it is a boolean, else `fallback` (never throws, unlike json::value on a wrong type).
bool BoolField(const json& obj, const char* key, bool fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

struct AddedToken {
  int64_t id;
  std::string content;
  bool special;
};

Status CollectAdded(const json& tok, const json& cfg, std::vector<AddedToken>& out) {
  if (auto it = tok.find("added_tokens"); it != tok.end()) {
    if (!it->is_array()) return Bad(kTok, "'added_tokens' is not an array");
    for (const json& a : *it) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string()) {
        return Bad(kTok, fmt::format("added token {} has no integer 'id' and string 'content'", a.dump()));
      }
      out.push_back({a["id"].get<int64_t>(), a["content"].get<std::string>(), BoolField(a, "special", false)});
    }
  }
  if (auto it = cfg.find("added_tokens_decoder"); it != cfg.end() && it->is_object()) {
    for (const auto& [key, a] : it->items()) {
      int64_t id = -1;
      try {
        size_t used = 0;
        id = std::stoll(key, &used);
        if (used != key.size()) id = -1;
      } catch (const std::exception&) {
      }
      if (id < 0 || !a.is_object() || !a.contains("content") || !a["content"].is_string()) {
        return Bad(kCfg, fmt::format("added_tokens_decoder entry '{}' has no id key and string 'content'", key));
      }
      bool known = false;
      for (const auto& t : out) known |= t.id == id;
      if (!known) out.push_back({id, a["content"].get<std::string>(), BoolField(a, "special", false)});
    }
  }
  return Status::Ok();
}

Status ReadMerges(const json& model, std::vector<std::string>& merges) {
  auto it = model.find("merges");
  if (it == model.end()) return Status::Ok();
  if (!it->is_array()) return Bad(kTok, "'model.merges' is not an array");
  merges.reserve(it->size());
  for (const json& m : *it) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      return Bad(kTok, fmt::format("merge {} is neither \"a b\" nor [\"a\", \"b\"]", merges.size()));
    }
  }
  return Status::Ok();
}

constexpr std::string_view kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Collects the Split regexes and whether a ByteLevel step splits with GPT-2's own regex.
void ScanPreTokenizer(const json& node, std::vector<std::string>& regexes, bool& byte_level_regex) {
  if (node.is_array()) {
    for (const json& n : node) ScanPreTokenizer(n, regexes, byte_level_regex);
    return;
  }
  if (!node.is_object()) return;
  if (node.contains("type") && node["type"] == "Split" && node.contains("pattern") && node["pattern"].is_object() &&
      node["pattern"].contains("Regex") && node["pattern"]["Regex"].is_string()) {
    regexes.push_back(node["pattern"]["Regex"].get<std::string>());
  }
  if (node.contains("type") && node["type"] == "ByteLevel") byte_level_regex |= BoolField(node, "use_regex", true);
  if (node.contains("pretokenizers")) ScanPreTokenizer(node["pretokenizers"], regexes, byte_level_regex);
}

// tokenizer.ggml.pre for the file's pre-tokenizer: Qwen2's Split regex -> "qwen2", a lone
// ByteLevel step with its regex -> "gpt-2", none -> "qwen2". Anything else would tokenize
// differently from the source, so it is refused.
Result<std::string> DetectPre(const json& tok) {
  auto it = tok.find("pre_tokenizer");
  if (it == tok.end() || it->is_null()) return std::string("qwen2");
  std::vector<std::string> regexes;
  bool byte_level_regex = false;
  ScanPreTokenizer(*it, regexes, byte_level_regex);
  if (regexes.size() == 1 && regexes[0] == kQwen2Regex && !byte_level_regex) return std::string("qwen2");
  if (regexes.empty() && byte_level_regex) return std::string("gpt-2");
  return Unsupported(fmt::format("{}: the pre_tokenizer is neither Qwen2's nor GPT-2's byte-level split (regex {})",
                                 kTok, regexes.empty() ? "none" : json(regexes[0]).dump()));
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (errno == ENOENT) return NotFound(fmt::format("{}: no such file", path));
    return IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return IoError(fmt::format("{}: read failed", path));
  return ss.str();
}

}  // namespace

Result<Vocab> VocabFromHfJson(const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                              size_t n_vocab) {
  ST_ASSIGN_OR_RETURN(json tok, Parse(tokenizer_json, kTok));
  json cfg = json::object();
  if (!tokenizer_config_json.empty()) {
    ST_ASSIGN_OR_RETURN(cfg, Parse(tokenizer_config_json, kCfg));
  }
  auto mit = tok.find("model");
  if (mit == tok.end() || !mit->is_object()) return Bad(kTok, "no 'model' object");
  const json& model = *mit;
  if (model.contains("type") && model["type"] != "BPE") {
    return Bad(kTok, fmt::format("model.type is {}, expected \"BPE\"", model["type"].dump()));
  }
  auto vit = model.find("vocab");
  if (vit == model.end() || !vit->is_object()) return Bad(kTok, "no 'model.vocab' object");

  Vocab v;
  v.model = "gpt2";
  ST_ASSIGN_OR_RETURN(v.pre, DetectPre(tok));
  std::vector<std::string> tokens(n_vocab);
  std::vector<int32_t> types(n_vocab, -1);  // -1: not assigned yet
  size_t n_regular = 0;
  for (const auto& [text, idj] : vit->items()) {
    if (!idj.is_number_integer()) return Bad(kTok, fmt::format("model.vocab['{}'] is not an integer id", text));
    const int64_t id = idj.get<int64_t>();
    if (id < 0 || static_cast<uint64_t>(id) >= n_vocab) {
      return Bad(kTok, fmt::format("model.vocab['{}'] = {} is not below n_vocab = {}", text, id, n_vocab));
    }
    if (types[id] != -1) return Bad(kTok, fmt::format("model.vocab: id {} is used twice", id));
    tokens[id] = text;
    types[id] = static_cast<int32_t>(TokenType::kNormal);
    ++n_regular;
  }
  for (size_t id = 0; id < n_regular; ++id) {
    if (types[id] == -1) return Bad(kTok, fmt::format("model.vocab: ids are not 0..{}: {} is missing", n_regular - 1, id));
  }

  std::vector<AddedToken> added;
  ST_RETURN_IF_ERROR(CollectAdded(tok, cfg, added));
  for (const AddedToken& a : added) {
    if (a.id < 0 || static_cast<uint64_t>(a.id) >= n_vocab) {
      return Bad(kTok, fmt::format("added token '{}' has id {}, not below n_vocab = {}", a.content, a.id, n_vocab));
    }
    const auto type = static_cast<int32_t>(a.special ? TokenType::kControl : TokenType::kUserDefined);
    if (types[a.id] != -1) {
      // tokenizer.json may list an added token that is also a regular one with the same text.
      if (tokens[a.id] == a.content) {
        types[a.id] = type;
        continue;
      }
      return Bad(kTok, fmt::format("added token '{}' has id {}, already taken by '{}'", a.content, a.id, tokens[a.id]));
    }
    tokens[a.id] = a.content;
    types[a.id] = type;
  }
  for (size_t id = 0; id < n_vocab; ++id) {
    if (types[id] == -1) {
      tokens[id] = fmt::format("[PAD{}]", id);
      types[id] = static_cast<int32_t>(TokenType::kUserDefined);
    }
  }
  v.tokens = std::move(tokens);
  v.types = std::move(types);
  ST_RETURN_IF_ERROR(ReadMerges(model, v.merges));

  const auto find = [&](const std::string& text) -> int32_t {
    for (const AddedToken& a : added) {
      if (a.content == text) return static_cast<int32_t>(a.id);
    }
    return -1;
  };
  int32_t eot = find("<|endoftext|>");
  if (eot < 0) {
    if (auto eos = TokenField(cfg, "eos_token")) eot = find(*eos);
  }
  v.bos_id = v.eos_id = v.pad_id = eot;
  if (auto it = cfg.find("add_bos_token"); it != cfg.end() && it->is_boolean()) v.add_bos = it->get<bool>();
  if (auto it = cfg.find("chat_template"); it != cfg.end()) {
    if (it->is_string()) {
      v.chat_template = it->get<std::string>();
    } else if (it->is_array()) {  // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
      for (const json& t : *it) {
        if (t.is_object() && t.contains("name") && t["name"] == "default" && t.contains("template") && t["template"].is_string()) {
          v.chat_template = t["template"].get<std::string>();
        }
      }
    }
  }
  return v;
}

Result<Vocab> LoadHfVocab(const std::string& tokenizer_json_path, const std::string& tokenizer_config_path,
                          size_t n_vocab) {
  ST_ASSIGN_OR_RETURN(std::string tok, ReadFile(tokenizer_json_path));
  std::string cfg;
  if (!tokenizer_config_path.empty()) {
    ST_ASSIGN_OR_RETURN(cfg, ReadFile(tokenizer_config_path));
  }
  auto v = VocabFromHfJson(tok, cfg, n_vocab);
  if (!v.ok()) {
    return v.status().WithContext(fmt::format("{} + {}", tokenizer_json_path,
                                              tokenizer_config_path.empty() ? "(no config)" : tokenizer_config_path));
  }
  return v;
}

Status WriteVocabGguf(const Vocab& vocab, const std::string& path) {
  GgufWriter w;
  w.Set("general.architecture", GgufValue::Str("smallthinker"));
  vocab.WriteTo(w);
  ST_RETURN_IF_ERROR(w.WriteHeader(path));
  return w.Finish();
}

}  // namespace st
