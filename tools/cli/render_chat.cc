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

namespace {

// The file: a JSON array of messages, or {"messages": [...], "tools": [...]} (the request body
// transformers' apply_chat_template and the OpenAI API take).
Status ParseConversation(const std::string& text, std::vector<ChatMessage>* messages, ChatRenderOptions* options) {
  const auto j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("not valid JSON");
  if (j.is_array()) {
    ST_ASSIGN_OR_RETURN(*messages, ParseChatMessages(j));
    return Status::Ok();
  }
  if (!j.is_object() || !j.contains("messages")) {
    return InvalidArgument("expected a JSON array of messages, or an object with \"messages\" (and \"tools\")");
  }
  for (const auto& [key, value] : j.items()) {
    if (key == "messages") {
      ST_ASSIGN_OR_RETURN(*messages, ParseChatMessages(value));
    } else if (key == "tools") {
      if (!value.is_array() && !value.is_null()) return InvalidArgument("\"tools\" must be a list of tool definitions");
      if (value.is_array()) options->tools_json = value.dump();
    } else {
      return InvalidArgument(fmt::format("unknown field \"{}\" (expected \"messages\" and \"tools\"; template "
                                         "variables go in --chat-template-kwargs)", key));
    }
  }
  return Status::Ok();
}

}  // namespace

int RunRenderChat(const CliArgs& a) {
  auto options = ChatOptionsFromArgs(a);
  if (!options.ok()) return Fail(kExitUsage, options.status());
  std::string text;
  if (int code = ReadPromptFile(a.render_chat, "--render-chat", "conversation", &text); code != kExitOk) return code;
  std::vector<ChatMessage> messages;
  if (Status s = ParseConversation(text, &messages, &*options); !s.ok()) {
    return Fail(kExitUsage, s.WithContext("--render-chat " + a.render_chat));
  }
  if (int c = CheckModelPath(a.run.model); c != kExitOk) return c;
  auto model = smallthinker::Model::Load(a.run.model);
  if (!model.ok()) return Fail(ExitCodeForModelError(model.status()), model.status());
  if (!(*model)->has_tokenizer()) {
    return Fail(ExitCodeForModelError((*model)->tokenizer_error()), (*model)->tokenizer_error());
  }
  const Tokenizer& tok = (*model)->tokenizer().impl();
  auto tmpl = LoadChatTemplate(a, tok);
  if (!tmpl.ok()) return Fail(ExitCodeForTemplateError(a, tmpl.status()), tmpl.status());
  auto rendered = tmpl->Render(messages, *options);
  if (!rendered.ok()) {
    return Fail(ExitCodeForTemplateError(a, rendered.status()), RenderError(a, tok, rendered.status()));
  }
  WriteOut(*rendered);
  if (OutputFailed()) return Fail(kExitIo, fmt::format("writing the rendered prompt failed: {}", OutputError()));
  return kExitOk;
}

}  // namespace st
