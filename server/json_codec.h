// json_codec.h
//
// Request bodies in (JSON with a base64 image, or multipart/form-data with
// an "image" file part) and engine results out, in the JSON shapes of
// docs/cli.md so that `abis identify --json` and POST /v1/identifications
// agree. Every parse failure is InvalidArgument with a message naming the
// field; no exception escapes.

#ifndef ABIS_SERVER_JSON_CODEC_H_
#define ABIS_SERVER_JSON_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "abis/engine.h"

#include "engine/result_json.h"

namespace abis::server {

// A request's scalar fields and its image, whichever encoding it came in.
struct RequestFields {
  nlohmann::json fields = nlohmann::json::object();  // Multipart text parts are strings.
  std::optional<std::vector<std::uint8_t>> image;
};

// JSON object body (Content-Type application/json), or multipart/form-data.
// With `image_field`, the image comes from that JSON field (base64, an
// optional "data:...;base64," prefix allowed) or multipart file part.
Result<RequestFields> ReadRequestFields(const httplib::Request& request,
                                        std::string_view image_field = "");

Result<std::string> RequiredString(const RequestFields& request, const std::string& key);
Result<std::optional<std::string>> OptionalString(const RequestFields& request,
                                                  const std::string& key);
Result<int> OptionalInt(const RequestFields& request, const std::string& key, int fallback, int min,
                        int max);
Result<double> OptionalDouble(const RequestFields& request, const std::string& key,
                              double fallback);
Result<bool> OptionalBool(const RequestFields& request, const std::string& key, bool fallback);

// The capture's modality and, for fingerprints, how it was captured:
// `modality` ("face", the default, or "finger"); `finger_position` (the
// ISO/IEC 19794-2 code 0..10 as a number or string, or a name such as
// "right-index", as `abis --finger-position` takes); `ppi` (pixels per inch,
// a number > 0; required for contact prints: a missing resolution is an
// error, never a guess); `contactless` (a fingertip photo, no ppi needed).
// InvalidArgument naming the field for an unknown modality or position, a
// contact print without ppi, or finger fields on a face capture.
struct CaptureFields {
  Modality modality = Modality::kFace;
  FingerCapture finger;
};
Result<CaptureFields> ReadCaptureFields(const RequestFields& request);

// Finger position from its code ("0".."10") or name ("unknown",
// "right-thumb" .. "left-little").
Result<int> ParseFingerPositionName(std::string_view text);

Result<std::vector<std::uint8_t>> DecodeBase64(std::string_view text);

// Dumps with invalid UTF-8 replaced (dump() would throw).
std::string DumpJson(const nlohmann::json& document);

}  // namespace abis::server

#endif  // ABIS_SERVER_JSON_CODEC_H_
