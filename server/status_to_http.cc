#include "server/status_to_http.h"

namespace abis::server {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return 500;
  }
  return 500;
}

nlohmann::json ErrorBody(const Status& status, nlohmann::json details) {
  std::string message = status.message();
  if (HttpStatusFor(status.code()) >= 500 && status.code() != StatusCode::kUnavailable &&
      status.code() != StatusCode::kUnimplemented) {
    message = "internal error; quote the request id to the operator of this server";
  }
  if (!details.is_object()) details = nlohmann::json::object();
  return {{"code", std::string(StatusCodeName(status.code()))},
          {"message", message},
          {"details", std::move(details)}};
}

}  // namespace abis::server
