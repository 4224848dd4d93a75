// Status and Result<T>: errors as values at every boundary that reads files, the disk or user input.
//
// A Status is either OK or carries a code and a message that says what was wrong and where
// ("tensor 'blk.3.attn_q.weight': shape {1536, 1000}, expected {1536, 1536}"). Result<T> holds a
// value or a non-OK Status. Broken internal invariants are not Statuses: they abort (ST_CHECK).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace st {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad flag, bad option value, bad prompt
  kInvalidFile,       // a file's bytes violate its format (GGUF, .npy, batch file line)
  kUnsupported,       // well-formed but not something this engine runs (GGUF v2, Q5_1, ...)
  kNotFound,          // missing file, key or tensor
  kIoError,           // read/write/mmap failure
  kOutOfRange,        // context full, index past the end
  kResourceExhausted, // memory limit too small, allocation failed
  kCancelled,         // user interrupt
  kFailedPrecondition,// the state does not allow it (a rewind past what the KV cache still holds)
  kInternal,          // a bug; should not happen
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid file: tensor 'x': ..." — for logs and the CLI's one-line errors.
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: ` (e.g. the file name).
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status InvalidFile(std::string m) { return {StatusCode::kInvalidFile, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or an error. REQUIRES for value()/operator*: ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result built from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return Get(); }
  const T& value() const& { return const_cast<Result*>(this)->Get(); }
  T&& value() && { return std::move(Get()); }
  T& operator*() & { return Get(); }
  const T& operator*() const& { return const_cast<Result*>(this)->Get(); }
  T* operator->() { return &Get(); }
  const T* operator->() const { return &const_cast<Result*>(this)->Get(); }

 private:
  T& Get() {
    if (!ok()) {
      std::fprintf(stderr, "Result::value() on error: %s\n", std::get<Status>(v_).ToString().c_str());
      std::abort();
    }
    return std::get<T>(v_);
  }
  std::variant<T, Status> v_;
};

}  // namespace st

#define ST_CONCAT_INNER_(a, b) a##b
#define ST_CONCAT_(a, b) ST_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define ST_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::st::Status st_status_ = (expr);             \
    if (!st_status_.ok()) return st_status_;      \
  } while (0)

// `ST_ASSIGN_OR_RETURN(auto x, MakeX());` — declares/assigns x or returns the error.
#define ST_ASSIGN_OR_RETURN(lhs, expr) ST_ASSIGN_OR_RETURN_IMPL_(ST_CONCAT_(st_result_, __LINE__), lhs, expr)
#define ST_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

// Invariant checks for bugs (never for file contents or user input).
#define ST_CHECK(cond)                                                                   \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
