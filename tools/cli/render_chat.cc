// --render-chat MESSAGES.json: the prompt the chat template makes of a conversation, printed exactly
// (with the generation prompt) for tests and for users debugging a template; the server's
// /apply-template renders with the same ChatTemplate. Only the model's metadata is read: no
// context, no KV cache.
#include <fmt/format.h>
#include <nlohmann/json.hpp>


#include "cli/chat_session.h"
#include "cli/cli_modes.h"
#include "cli/exit_codes.h"
#include "common/run_options.h"
#include "smallthinker/model.h"

namespace st {

Result<ChatRenderOptions> ChatOptionsFromArgs(const CliArgs& a) {
  ChatRenderOptions o;
  if (a.chat_template_kwargs.empty()) return o;
  const nlohmann::json kw = nlohmann::json::parse(a.chat_template_kwargs, nullptr, /*allow_exceptions=*/false);
  if (kw.is_discarded() || !kw.is_object()) {
    return InvalidArgument(fmt::format("--chat-template-kwargs '{}': expected a JSON object such as "
                                       "{{\"enable_thinking\": false}}", a.chat_template_kwargs));
  }
  for (const auto& [key, value] : kw.items()) {
    if (key == "enable_thinking") {
      if (!value.is_boolean()) return InvalidArgument("--chat-template-kwargs: enable_thinking must be true or false");
      o.enable_thinking = value.get<bool>();
    } else {
      // The built-in templates read no other variable; say so rather than ignore it silently.
      return InvalidArgument(fmt::format("--chat-template-kwargs: '{}' is not a variable these templates use "
                                         "(known: enable_thinking)", key));
    }
  }
  return o;
}

int RunRenderChat(const CliArgs& a) {
  auto options = ChatOptionsFromArgs(a);
  if (!options.ok()) return Fail(kExitUsage, options.status());
  std::string text;
  if (int code = ReadPromptFile(a.render_chat, "--render-chat", "conversation", &text); code != kExitOk) return code;
  auto messages = ParseChatMessages(text);
  if (!messages.ok()) return Fail(kExitUsage, messages.status().WithContext("--render-chat " + a.render_chat));
  if (int c = CheckModelPath(a.run.model); c != kExitOk) return c;
  auto model = smallthinker::Model::Load(a.run.model);
  if (!model.ok()) return Fail(ExitCodeForModelError(model.status()), model.status());
  if (!(*model)->has_tokenizer()) {
    return Fail(ExitCodeForModelError((*model)->tokenizer_error()), (*model)->tokenizer_error());
  }
  auto tmpl = ChatTemplate::Select(a.chat_template, (*model)->tokenizer().impl().chat_template());
  if (!tmpl.ok()) return Fail(kExitUsage, tmpl.status().WithContext("chat template"));
  auto rendered = tmpl->Render(*messages, *options);
  if (!rendered.ok()) return Fail(kExitUsage, rendered.status().WithContext("chat template " + tmpl->name()));
  WriteOut(*rendered);
  if (OutputFailed()) return Fail(kExitIo, fmt::format("writing the rendered prompt failed: {}", OutputError()));
  return kExitOk;
}

}  // namespace st
