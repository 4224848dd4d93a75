#include "cli/chat_commands.h"

#include <cstdio>

#include "cli/cli_modes.h"
#include "cli/exit_codes.h"
#include "util/escape.h"
#include "util/output_file.h"

namespace st {

const char kChatCommandsHelp[] =
    "commands:\n"
    "  /help          this list\n"
    "  /clear         start a new conversation (the system prompt stays)\n"
    "  /system TEXT   start a new conversation with TEXT as the system prompt (/system alone: none)\n"
    "  /save FILE     write the conversation as JSON messages\n"
    "  /load FILE     continue a conversation written by /save\n"
    "  /exit          leave (as Ctrl-D)\n"
    "  //text         send \"/text\" to the model\n"
    "  a line ending in \\ continues on the next; Ctrl-C stops an answer\n";

namespace {

void Error(const std::string& what) { std::fprintf(stderr, "error: %s\n", EscapeForDisplay(what).c_str()); }

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

void Save(const std::string& path, const ChatSession& session) {
  auto out = OutputFile::Open(path, "/save");
  if (!out.ok()) return Error(out.status().message());
  out->Write(session.ToJson());
  if (Status s = out->Commit(); !s.ok()) return Error(s.message());
  std::fprintf(stderr, "saved %zu messages to %s\n", session.messages().size(), EscapeForDisplay(path).c_str());
}

void Load(const std::string& path, ChatSession& session) {
  std::string text;
  if (ReadPromptFile(path, "/load", "conversation", &text) != kExitOk) return;  // its error is printed
  if (Status s = session.LoadJson(text); !s.ok()) return Error("/load " + path + ": " + s.message());
  std::fprintf(stderr, "loaded %zu messages from %s\n", session.messages().size(), EscapeForDisplay(path).c_str());
}

}  // namespace

ChatCommandResult RunChatCommand(std::string* line, ChatSession& session) {
  if (line->empty() || (*line)[0] != '/') return ChatCommandResult::kMessage;
  if (line->size() > 1 && (*line)[1] == '/') {
    line->erase(0, 1);
    return ChatCommandResult::kMessage;
  }
  const size_t space = line->find_first_of(" \t\n");
  const std::string name = line->substr(0, space);
  const std::string arg = space == std::string::npos ? "" : Trim(line->substr(space));
  if (name == "/help" || name == "/?") {
    std::fputs(kChatCommandsHelp, stderr);
  } else if (name == "/exit" || name == "/quit" || name == "/bye") {
    return ChatCommandResult::kExit;
  } else if (name == "/clear") {
    session.Clear();
    std::fputs("new conversation\n", stderr);
  } else if (name == "/system") {
    session.SetSystem(arg);
    std::fputs(arg.empty() ? "new conversation, no system prompt\n" : "new conversation with this system prompt\n", stderr);
  } else if (name == "/save" || name == "/load") {
    if (arg.empty()) {
      Error(name + " needs a file name");
    } else if (name == "/save") {
      Save(arg, session);
    } else {
      Load(arg, session);
    }
  } else {
    Error("unknown command " + name + " (type /help for the list; start with // to send a '/' to the model)");
  }
  return ChatCommandResult::kHandled;
}

}  // namespace st
