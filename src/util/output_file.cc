#include "util/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace st {
namespace {

// The mode a newly created file gets (0666 less the umask), so the renamed temporary looks like
// a file fopen would have made rather than mkstemp's 0600.
mode_t NewFileMode() {
  const mode_t mask = umask(0);
  umask(mask);
  return 0666 & ~mask;
}

}  // namespace

Result<OutputFile> OutputFile::Open(const std::string& path, const char* flag) {
  OutputFile out;
  out.flag_ = flag;
  out.target_ = path;
  auto fail = [&](const char* what, int err) {
    return IoError(fmt::format("{} {}: {}: {}", flag, path, what, std::strerror(err)));
  };
  struct stat st;
  mode_t mode = NewFileMode();
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return IoError(fmt::format("{} {}: is a directory, not a file", flag, path));
    if (!S_ISREG(st.st_mode)) {  // a device or a FIFO: write to it as it is
      out.file_ = std::fopen(path.c_str(), "wb");
      if (!out.file_) return fail("cannot write", errno);
      return out;
    }
    if (access(path.c_str(), W_OK) != 0) return fail("cannot write", errno);
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) != nullptr) out.target_ = resolved;  // rename onto the file, not the link
    mode = st.st_mode & 07777;
  }
  const size_t slash = out.target_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : out.target_.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? out.target_ : out.target_.substr(slash + 1);
  if (base.empty()) return IoError(fmt::format("{} {}: is a directory, not a file", flag, path));
  std::string temp = (slash == std::string::npos ? "" : dir) + "." + base + ".tmp.XXXXXX";
  const int fd = mkstemp(temp.data());
  if (fd < 0) return fail("cannot write", errno);
  (void)fchmod(fd, mode);
  out.file_ = fdopen(fd, "wb");
  if (!out.file_) {
    const int err = errno;
    close(fd);
    unlink(temp.c_str());
    return fail("cannot write", err);
  }
  out.temp_ = std::move(temp);
  return out;
}

OutputFile::OutputFile(OutputFile&& o) noexcept { *this = std::move(o); }

OutputFile& OutputFile::operator=(OutputFile&& o) noexcept {
  if (this != &o) {
    Discard();
    file_ = o.file_;
    target_ = std::move(o.target_);
    temp_ = std::move(o.temp_);
    flag_ = std::move(o.flag_);
    write_errno_ = o.write_errno_;
    o.file_ = nullptr;
    o.temp_.clear();
  }
  return *this;
}

OutputFile::~OutputFile() { Discard(); }

bool OutputFile::Write(const std::string& text) {
  const bool ok = std::fwrite(text.data(), 1, text.size(), file_) == text.size() && std::fflush(file_) == 0;
  if (!ok && write_errno_ == 0) write_errno_ = errno != 0 ? errno : EIO;
  return ok;
}

Status OutputFile::Commit() {
  int err = write_errno_;
  if (std::fflush(file_) != 0 && err == 0) err = errno;
  if (std::ferror(file_) && err == 0) err = EIO;
  if (std::fclose(file_) != 0 && err == 0) err = errno;
  file_ = nullptr;
  if (err == 0 && !temp_.empty() && std::rename(temp_.c_str(), target_.c_str()) != 0) err = errno;
  if (err != 0) {
    if (!temp_.empty()) unlink(temp_.c_str());
    temp_.clear();
    return IoError(fmt::format("{} {}: write failed: {}", flag_, target_, std::strerror(err)));
  }
  temp_.clear();
  return Status::Ok();
}

void OutputFile::Discard() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  if (!temp_.empty()) unlink(temp_.c_str());
  temp_.clear();
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (a.empty() || b.empty() || stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

namespace {

bool SameSpelling(const std::string& a, const std::string& b) {
  std::error_code ec;
  const auto x = std::filesystem::absolute(a, ec).lexically_normal();
  const auto y = std::filesystem::absolute(b, ec).lexically_normal();
  return x == y;
}

}  // namespace

Status CheckOutputsAreNotInputs(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs) {
  auto given = [](const NamedPath& p) { return !p.path.empty() && p.path != "-"; };
  for (size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& o = outputs[i];
    if (!given(o)) continue;
    for (const NamedPath& in : inputs) {
      if (given(in) && SameFile(o.path, in.path)) {
        return InvalidArgument(fmt::format("{} {} is the same file as {} {}: writing it would destroy an input", o.flag,
                                           o.path, in.flag, in.path));
      }
    }
    for (size_t j = 0; j < i; ++j) {
      const NamedPath& p = outputs[j];
      if (given(p) && (SameFile(o.path, p.path) || SameSpelling(o.path, p.path))) {
        return InvalidArgument(fmt::format("{} {} and {} {} are the same file: give each its own", p.flag, p.path,
                                           o.flag, o.path));
      }
    }
  }
  return Status::Ok();
}

}  // namespace st
