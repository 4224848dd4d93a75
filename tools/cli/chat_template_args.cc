// The chat template and its variables as the command line chooses them: --chat-template (a
// built-in name or Jinja text), --chat-template-file, else the model's tokenizer.chat_template;
// --chat-template-kwargs; and the exit code of a template's error (whose fault it is).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli_modes.h"
#include "cli/exit_codes.h"
#include "text/jinja_builtins.h"

namespace st {

Result<ChatRenderOptions> ChatOptionsFromArgs(const CliArgs& a) {
  ChatRenderOptions o;
  if (a.chat_template_kwargs.empty()) return o;
  const auto kw = nlohmann::ordered_json::parse(a.chat_template_kwargs, nullptr, /*allow_exceptions=*/false);
  if (kw.is_discarded() || !kw.is_object()) {
    return InvalidArgument(fmt::format("--chat-template-kwargs '{}': expected a JSON object such as "
                                       "{{\"enable_thinking\": false}}", a.chat_template_kwargs));
  }
  // Every key is a template variable; enable_thinking is also what the built-ins read.
  if (const auto it = kw.find("enable_thinking"); it != kw.end()) {
    if (!it->is_boolean()) return InvalidArgument("--chat-template-kwargs: enable_thinking must be true or false");
    o.enable_thinking = it->get<bool>();
  }
  o.extra_variables_json = kw.dump();
  return o;
}

namespace {
bool UserTemplate(const CliArgs& a) { return !a.chat_template.empty() || !a.chat_template_file.empty(); }

std::string TemplateSource(const CliArgs& a, bool model_has_template) {
  if (!a.chat_template_file.empty()) return "--chat-template-file " + a.chat_template_file;
  if (!a.chat_template.empty()) return "--chat-template";
  return model_has_template ? "the model's chat template" : "the built-in chatml template";
}
}  // namespace

Result<ChatTemplate> CheckUserChatTemplate(const CliArgs& a) {
  const std::string& text = a.chat_template_file.empty() ? a.chat_template : a.chat_template_text;
  auto t = a.chat_template_file.empty() ? ChatTemplate::FromNameOrText(text) : ChatTemplate::FromText(text);
  if (!t.ok()) return t.status().WithContext(TemplateSource(a, false));
  return t;
}

Result<ChatTemplate> LoadChatTemplate(const CliArgs& a, const Tokenizer& tok) {
  Result<ChatTemplate> t = UserTemplate(a) ? CheckUserChatTemplate(a) : ChatTemplate::Select("", tok.chat_template());
  if (!t.ok()) return UserTemplate(a) ? t.status() : t.status().WithContext(TemplateSource(a, true));
  t->SetSpecialTokensFrom(tok);
  return t;
}

Status RenderError(const CliArgs& a, const Tokenizer& tok, const Status& s) {
  return s.WithContext(TemplateSource(a, !tok.chat_template().empty()));
}

int ExitCodeForTemplateError(const CliArgs& a, const Status& s) {
  if (s.code() == StatusCode::kIoError) return kExitIo;
  // raise_exception: the template refuses this conversation ("roles must alternate"): the input's fault.
  if (s.code() == StatusCode::kFailedPrecondition) return kExitUsage;
  return UserTemplate(a) ? kExitUsage : kExitModel;
}

}  // namespace st
