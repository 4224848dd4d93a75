// Exit codes of every smallthinker program (documented in --help and the README).
#pragma once

#include "smallthinker/status.h"

namespace st {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;        // a runtime failure (context full, internal error)
inline constexpr int kExitUsage = 2;        // bad flags or arguments
inline constexpr int kExitModel = 3;        // model file missing, malformed or unsupported
inline constexpr int kExitIo = 4;           // reading or writing another file failed
inline constexpr int kExitInterrupted = 130;  // stopped by SIGINT

inline const char* kExitCodesHelp =
    "Exit codes: 0 success, 1 runtime error, 2 bad arguments, 3 bad or unsupported model file,\n"
    "4 I/O error on another file (also a failed write to stdout: a full disk, a closed pipe), 130 interrupted.";

// The exit code for an error while loading a model.
inline int ExitCodeForModelError(const Status& s) {
  if (s.code() == StatusCode::kInvalidArgument) return kExitUsage;
  if (s.code() == StatusCode::kIoError) return kExitIo;
  return kExitModel;
}

// The exit code for an error while generating: a failed read (an expert file that went away, a
// disk error) is an I/O error, a bad token or option a usage error, anything else a runtime error.
inline int ExitCodeForRunError(const Status& s) {
  if (s.code() == StatusCode::kIoError) return kExitIo;
  if (s.code() == StatusCode::kInvalidArgument) return kExitUsage;
  return kExitError;
}

}  // namespace st
