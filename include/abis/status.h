// status.h
//
// Status and Result<T>: how every abis library reports failure. No exception
// crosses include/abis/; adapters around third-party code (OpenCV, dlib,
// SQLite) catch and translate. Codes are stable: the CLI prints them, the HTTP
// API returns them, and scripts branch on them.
//
// Thread safety: both are plain values.

#ifndef ABIS_STATUS_H_
#define ABIS_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace abis {

// Canonical codes (abseil's vocabulary). The numeric values are persisted in
// logs and returned by the CLI as exit codes: never renumber.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 3,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

// Stable lower-case name, e.g. "invalid_argument".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid_argument: image has zero bytes".
  std::string ToString() const;

  // Returns a copy whose message is "context: message"; the code is kept.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status ResourceExhaustedError(std::string message);
Status FailedPreconditionError(std::string message);
Status OutOfRangeError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);
Status UnavailableError(std::string message);
Status DataLossError(std::string message);

// Result<T> holds a T or a non-OK Status. Its surface mirrors C++23
// std::expected (has_value, value, error) so we can switch later.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = InternalError("Result constructed from OK status without value");
  }

  bool has_value() const { return value_.has_value(); }
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: has_value().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

  // OK when has_value().
  const Status& status() const { return status_; }
  const Status& error() const { return status_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace abis

#define ABIS_STATUS_CONCAT_INNER_(a, b) a##b
#define ABIS_STATUS_CONCAT_(a, b) ABIS_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define ABIS_RETURN_IF_ERROR(expr)                       \
  do {                                                   \
    ::abis::Status abis_status_tmp_ = (expr);            \
    if (!abis_status_tmp_.ok()) return abis_status_tmp_; \
  } while (false)

// `ABIS_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or
// returns its Status.
#define ABIS_ASSIGN_OR_RETURN(lhs, expr) \
  ABIS_ASSIGN_OR_RETURN_IMPL_(ABIS_STATUS_CONCAT_(abis_result_, __LINE__), lhs, expr)
// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration.
#define ABIS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // ABIS_STATUS_H_
