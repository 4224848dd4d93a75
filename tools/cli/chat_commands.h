// Chat commands, as llama.cpp's and ollama's chats have them: a line starting with "/" is a
// command for the CLI, not a message for the model.
//
//   /help          the list below
//   /clear         a new conversation; the system prompt stays
//   /system TEXT   a new conversation with TEXT as its system prompt ("/system" alone: none)
//   /save FILE     the conversation as JSON messages ([{"role", "content"}], as the OpenAI API)
//   /load FILE     a conversation saved by /save (or written by hand); the next turn continues it
//   /exit          leave (as Ctrl-D)
//
// "//text" sends "/text" to the model. An unknown command is reported and nothing is sent.
// Command errors (a file that cannot be read or written, a malformed conversation) are one
// "error:" line on stderr; the chat goes on.
#pragma once

#include <string>

#include "cli/chat_session.h"

namespace st {

enum class ChatCommandResult {
  kMessage,  // not a command: send *line (with a leading "//" made "/")
  kHandled,  // a command ran (or failed with its message); read the next line
  kExit,     // /exit
};

ChatCommandResult RunChatCommand(std::string* line, ChatSession& session);

// The help text /help prints (also in the chat banner's hint).
extern const char kChatCommandsHelp[];

}  // namespace st
