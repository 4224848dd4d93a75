// OutputFile: a result file (--json, --batch-output, a KL-divergence base) written to a temporary
// beside its target and renamed over it only when the run succeeded. A run that fails (a bad
// model, a bad flag, a full disk) therefore never empties the results of an earlier run, and the
// target is never truncated before there is something to put in its place.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "smallthinker/status.h"

namespace st {

class OutputFile {
 public:
  // Creates the temporary `.NAME.tmp.XXXXXX` in the target's directory (after following a
  // symbolic link, so the link stays a link). A target that exists and is not a regular file
  // (/dev/stdout, /dev/full, a FIFO) is opened for writing directly: there is nothing to lose.
  // `flag` names the option in messages. Errors: the target is a directory, or the directory
  // cannot be written (IoError).
  static Result<OutputFile> Open(const std::string& path, const char* flag);

  OutputFile() = default;
  OutputFile(OutputFile&& o) noexcept;
  OutputFile& operator=(OutputFile&& o) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // Discard() unless committed

  bool is_open() const { return file_ != nullptr; }
  FILE* file() { return file_; }
  const std::string& path() const { return target_; }

  // Writes `text`; false (and the error kept for Commit) when the write fails.
  bool Write(const std::string& text);

  // Flushes and closes the temporary, then renames it over the target. Errors: a write, the
  // close or the rename failed (IoError naming the flag, the path and errno's text); the
  // temporary is then removed and the target keeps what it had.
  // REQUIRES: is_open().
  Status Commit();

  // Closes and removes the temporary; the target keeps what it had. Safe to call twice.
  void Discard();

 private:
  FILE* file_ = nullptr;
  std::string target_;     // the path to rename onto (the resolved one for a link)
  std::string temp_;       // "" when writing the target directly
  std::string flag_;
  int write_errno_ = 0;    // the first failed write
};

// True when `a` and `b` both exist and are the same file (same st_dev and st_ino, so hard links
// and different spellings of one path count as the same).
bool SameFile(const std::string& a, const std::string& b);

// A file named on the command line, with the flag that named it ("-m", "--json").
struct NamedPath {
  std::string flag;
  std::string path;  // "" = not given
};

// Refuses an output that is one of the inputs (an existing file, compared by SameFile) or that
// another output also names: writing it would destroy what the run reads, or lose one of the two.
// "-" (stdout or stderr) is never compared. Errors: InvalidArgument naming both flags.
Status CheckOutputsAreNotInputs(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs);

}  // namespace st
