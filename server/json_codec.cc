#include "server/json_codec.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include <sodium.h>

namespace abis::server {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

Status FieldError(const std::string& key, std::string_view what) {
  return InvalidArgumentError("field \"" + key + "\" " + std::string(what));
}

}  // namespace

Result<std::vector<std::uint8_t>> DecodeBase64(std::string_view text) {
  if (StartsWith(text, "data:")) {
    std::size_t comma = text.find(',');
    if (comma == std::string_view::npos ||
        text.substr(0, comma).find(";base64") == std::string_view::npos) {
      return InvalidArgumentError("image data URL must be base64");
    }
    text.remove_prefix(comma + 1);
  }
  std::vector<std::uint8_t> bytes(text.size() / 4 * 3 + 3);
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(bytes.data(), bytes.size(), text.data(), text.size(), " \t\r\n", &length,
                        &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return InvalidArgumentError("image is not valid base64");
  }
  bytes.resize(length);
  return bytes;
}

Result<RequestFields> ReadRequestFields(const httplib::Request& request,
                                        std::string_view image_field) {
  RequestFields out;
  if (request.is_multipart_form_data()) {
    for (const auto& [name, part] : request.files) {
      if (!image_field.empty() && name == image_field) {
        if (out.image.has_value()) {
          return InvalidArgumentError("more than one \"" + name + "\" part");
        }
        out.image.emplace(part.content.begin(), part.content.end());
      } else if (out.fields.contains(name)) {
        return InvalidArgumentError("more than one \"" + name + "\" part");
      } else {
        out.fields[name] = part.content;
      }
    }
    return out;
  }
  std::string content_type = request.get_header_value("Content-Type");
  if (!StartsWith(content_type, "application/json")) {
    return InvalidArgumentError(
        "body must be application/json or multipart/form-data (Content-Type)");
  }
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return InvalidArgumentError("body is not valid JSON");
  if (!body.is_object()) return InvalidArgumentError("body must be a JSON object");
  if (!image_field.empty() && body.contains(image_field)) {
    const nlohmann::json& image = body[std::string(image_field)];
    if (!image.is_string()) {
      return FieldError(std::string(image_field), "must be a base64 string");
    }
    ABIS_ASSIGN_OR_RETURN(auto bytes, DecodeBase64(image.get_ref<const std::string&>()));
    out.image = std::move(bytes);
    body.erase(std::string(image_field));
  }
  out.fields = std::move(body);
  return out;
}

Result<std::optional<std::string>> OptionalString(const RequestFields& request,
                                                  const std::string& key) {
  auto it = request.fields.find(key);
  if (it == request.fields.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return FieldError(key, "must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> RequiredString(const RequestFields& request, const std::string& key) {
  ABIS_ASSIGN_OR_RETURN(auto value, OptionalString(request, key));
  if (!value.has_value() || value->empty()) return FieldError(key, "is required");
  return *value;
}

Result<double> OptionalDouble(const RequestFields& request, const std::string& key,
                              double fallback) {
  auto it = request.fields.find(key);
  if (it == request.fields.end() || it->is_null()) return fallback;
  double value = 0;
  if (it->is_number()) {
    value = it->get<double>();
  } else if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    char* end = nullptr;
    value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size())
      return FieldError(key, "must be a number");
  } else {
    return FieldError(key, "must be a number");
  }
  if (!std::isfinite(value)) return FieldError(key, "must be finite");
  return value;
}

Result<int> OptionalInt(const RequestFields& request, const std::string& key, int fallback, int min,
                        int max) {
  auto it = request.fields.find(key);
  if (it == request.fields.end() || it->is_null()) return fallback;
  if (it->is_number_float()) return FieldError(key, "must be an integer");
  ABIS_ASSIGN_OR_RETURN(double value, OptionalDouble(request, key, fallback));
  if (value != std::floor(value)) return FieldError(key, "must be an integer");
  if (value < min || value > max) {
    return FieldError(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int>(value);
}

Result<bool> OptionalBool(const RequestFields& request, const std::string& key, bool fallback) {
  auto it = request.fields.find(key);
  if (it == request.fields.end() || it->is_null()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    if (*it == "true") return true;
    if (*it == "false") return false;
  }
  return FieldError(key, "must be true or false");
}

Result<int> ParseFingerPositionName(std::string_view text) {
  Result<int> code = ParseFingerPosition(text);
  if (code.ok()) return code;
  return FieldError("finger_position",
                    "must be an ISO/IEC 19794-2 code 0..10 or a name such as "
                    "right-index (right-thumb .. left-little, unknown), got '" +
                        std::string(text.substr(0, 40)) + "'");
}

Result<CaptureFields> ReadCaptureFields(const RequestFields& request) {
  CaptureFields capture;
  ABIS_ASSIGN_OR_RETURN(auto modality, OptionalString(request, "modality"));
  if (modality.has_value()) {
    Result<Modality> parsed = ParseModality(*modality);
    if (!parsed.ok()) {
      return FieldError("modality",
                        "must be \"face\" or \"finger\", got '" + modality->substr(0, 40) + "'");
    }
    capture.modality = *parsed;
  }
  const bool finger = capture.modality == Modality::kFinger;
  for (const char* key : {"finger_position", "ppi", "contactless"}) {
    auto it = request.fields.find(key);
    if (!finger && it != request.fields.end() && !it->is_null()) {
      return FieldError(key, "applies to modality \"finger\" only");
    }
  }
  if (!finger) return capture;
  auto position = request.fields.find("finger_position");
  if (position != request.fields.end() && !position->is_null()) {
    if (position->is_number_integer()) {
      ABIS_ASSIGN_OR_RETURN(capture.finger.position,
                            ParseFingerPositionName(std::to_string(position->get<std::int64_t>())));
    } else if (position->is_string()) {
      ABIS_ASSIGN_OR_RETURN(capture.finger.position,
                            ParseFingerPositionName(position->get<std::string>()));
    } else {
      return FieldError("finger_position", "must be a code 0..10 or a finger name");
    }
  }
  ABIS_ASSIGN_OR_RETURN(capture.finger.contactless, OptionalBool(request, "contactless", false));
  ABIS_ASSIGN_OR_RETURN(capture.finger.ppi, OptionalDouble(request, "ppi", 0));
  if (request.fields.contains("ppi") && !request.fields["ppi"].is_null() &&
      !(capture.finger.ppi > 0)) {
    return FieldError("ppi", "must be a positive number of pixels per inch");
  }
  if (!capture.finger.contactless && capture.finger.ppi <= 0) {
    return FieldError("ppi",
                      "is required for a contact fingerprint (its resolution, e.g. 500): a guess "
                      "would rescale every ridge; set contactless for a fingertip photo");
  }
  return capture;
}

std::string DumpJson(const nlohmann::json& document) {
  return document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace abis::server
