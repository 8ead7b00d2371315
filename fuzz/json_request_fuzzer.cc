// json_request_fuzzer.cc
//
// Feeds arbitrary bytes to the server's request decoding (server/json_codec):
// the body of a POST with Content-Type application/json, decoded with an
// image field as the enrolment, identification and verification routes do,
// then every typed field accessor those routes use. Decoding must return a
// value or InvalidArgument/OutOfRange, never crash or throw; an accepted
// image must be the base64 decoding of the field's text.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <httplib.h>

#include "server/json_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using abis::StatusCode;
  httplib::Request request;
  request.method = "POST";
  request.path = "/v1/identifications";
  request.body.assign(reinterpret_cast<const char*>(data), size);
  request.set_header("Content-Type", "application/json");
  auto fields = abis::server::ReadRequestFields(request, "image");
  if (!fields.ok()) {
    if (fields.status().code() != StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  auto expect_client_error = [](const abis::Status& status) {
    if (!status.ok() && status.code() != StatusCode::kInvalidArgument &&
        status.code() != StatusCode::kOutOfRange) {
      std::abort();
    }
  };
  for (const char* key : {"gallery", "identity", "name", "role"}) {
    expect_client_error(abis::server::RequiredString(*fields, key).status());
    expect_client_error(abis::server::OptionalString(*fields, key).status());
  }
  expect_client_error(abis::server::OptionalInt(*fields, "max_candidates", 20, 1, 1000).status());
  expect_client_error(abis::server::OptionalInt(*fields, "face_index", -1, -1, 1000).status());
  expect_client_error(abis::server::OptionalDouble(*fields, "min_score", 0.0).status());
  expect_client_error(abis::server::OptionalBool(*fields, "create_gallery", true).status());
  auto max = abis::server::OptionalInt(*fields, "max_candidates", 20, 1, 1000);
  if (max.ok() && (*max < 1 || *max > 1000)) std::abort();
  // Whatever decodes must dump without throwing (invalid UTF-8 included).
  (void)abis::server::DumpJson(fields->fields);
  return 0;
}
