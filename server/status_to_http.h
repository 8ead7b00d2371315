// status_to_http.h
//
// The one mapping from abis status codes to HTTP status codes
// (docs/http_api.md, style guide 3.4), and the one JSON error shape
// {code, message, details}.

#ifndef ABIS_SERVER_STATUS_TO_HTTP_H_
#define ABIS_SERVER_STATUS_TO_HTTP_H_

#include <string>

#include <nlohmann/json.hpp>

#include "abis/status.h"

namespace abis::server {

// 400 invalid_argument / out_of_range, 403 permission_denied, 404 not_found,
// 409 already_exists / failed_precondition, 429 resource_exhausted,
// 501 unimplemented, 503 unavailable, 500 internal / data_loss.
int HttpStatusFor(StatusCode code);

// {"code": "...", "message": "...", "details": {...}}. For 5xx codes the
// message is replaced by a generic one: internal messages may name files
// or SQL; the real message goes to the server log under `request_id`.
nlohmann::json ErrorBody(const Status& status, nlohmann::json details = nlohmann::json::object());

}  // namespace abis::server

#endif  // ABIS_SERVER_STATUS_TO_HTTP_H_
