#include "imaging/image_decoder.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace abis::imaging {
namespace {

constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

std::uint32_t ReadBigEndian32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::uint16_t ReadBigEndian16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

Result<ImageInfo> ProbePng(std::span<const std::uint8_t> bytes) {
  // Signature (8) + IHDR length (4) + "IHDR" (4) + width (4) + height (4).
  if (bytes.size() < 24 || ReadBigEndian32(&bytes[8]) != 13 ||
      std::string_view(reinterpret_cast<const char*>(&bytes[12]), 4) != "IHDR") {
    return InvalidArgumentError("malformed PNG: missing IHDR header");
  }
  std::uint32_t width = ReadBigEndian32(&bytes[16]);
  std::uint32_t height = ReadBigEndian32(&bytes[20]);
  if (width == 0 || height == 0 || width > 0x7FFFFFFF || height > 0x7FFFFFFF) {
    return InvalidArgumentError("malformed PNG: invalid dimensions");
  }
  return ImageInfo{ImageFormat::kPng, static_cast<int>(width), static_cast<int>(height)};
}

bool IsStartOfFrame(std::uint8_t marker) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

Result<ImageInfo> ProbeJpeg(std::span<const std::uint8_t> bytes) {
  std::size_t pos = 2;  // After SOI.
  while (pos + 4 <= bytes.size()) {
    if (bytes[pos] != 0xFF) return InvalidArgumentError("malformed JPEG: bad marker");
    std::uint8_t marker = bytes[pos + 1];
    if (marker == 0xFF) {  // Fill byte.
      ++pos;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      pos += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) break;  // EOI or scan data before any frame.
    std::uint16_t length = ReadBigEndian16(&bytes[pos + 2]);
    if (length < 2) return InvalidArgumentError("malformed JPEG: bad segment length");
    if (IsStartOfFrame(marker)) {
      if (pos + 9 > bytes.size()) break;
      int height = ReadBigEndian16(&bytes[pos + 5]);
      int width = ReadBigEndian16(&bytes[pos + 7]);
      if (width == 0 || height == 0) {
        return InvalidArgumentError("malformed JPEG: zero dimensions in frame header");
      }
      return ImageInfo{ImageFormat::kJpeg, width, height};
    }
    pos += 2 + length;
  }
  return InvalidArgumentError("malformed JPEG: no frame header found");
}

}  // namespace

std::string FormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

Result<ImageInfo> ProbeImage(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return InvalidArgumentError("image is empty (0 bytes)");
  if (bytes.size() >= 8 &&
      std::equal(std::begin(kPngSignature), std::end(kPngSignature), bytes.begin())) {
    return ProbePng(bytes);
  }
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    return ProbeJpeg(bytes);
  }
  return InvalidArgumentError("not a supported image (expected JPEG or PNG)");
}

Result<DecodedImage> DecodeImage(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return ResourceExhaustedError("image is " + std::to_string(bytes.size()) +
                                  " bytes, over the limit of " + std::to_string(limits.max_bytes));
  }
  ABIS_ASSIGN_OR_RETURN(ImageInfo info, ProbeImage(bytes));
  std::string dims = std::to_string(info.width) + "x" + std::to_string(info.height);
  if (info.width > limits.max_side || info.height > limits.max_side ||
      std::int64_t{info.width} * info.height > limits.max_pixels) {
    return ResourceExhaustedError("image dimensions " + dims +
                                  " exceed the limits (possible decompression bomb)");
  }
  if (info.width < limits.min_side || info.height < limits.min_side) {
    return InvalidArgumentError("image " + dims + " is too small to hold a biometric sample");
  }
  cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1,
                  const_cast<std::uint8_t*>(bytes.data()));
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return InvalidArgumentError("cannot decode " + FormatName(info.format) + ": " + e.what());
  }
  if (decoded.empty()) {
    return InvalidArgumentError("cannot decode " + FormatName(info.format) +
                                " data (truncated or corrupt)");
  }
  if (decoded.cols != info.width || decoded.rows != info.height) {
    return InvalidArgumentError("decoded size differs from the header's " + dims);
  }
  if (decoded.depth() == CV_16U) decoded.convertTo(decoded, CV_8U, 1.0 / 257.0);
  if (decoded.depth() != CV_8U) return InvalidArgumentError("unsupported pixel depth");
  DecodedImage image{info, {}};
  switch (decoded.channels()) {
    case 1:
      cv::cvtColor(decoded, image.bgr, cv::COLOR_GRAY2BGR);
      break;
    case 3:
      image.bgr = decoded;
      break;
    case 4:
      cv::cvtColor(decoded, image.bgr, cv::COLOR_BGRA2BGR);
      break;
    default:
      return InvalidArgumentError("unsupported channel count");
  }
  return image;
}

Result<std::vector<std::uint8_t>> EncodePng(const cv::Mat& image) {
  std::vector<std::uint8_t> bytes;
  try {
    if (image.empty() || !cv::imencode(".png", image, bytes)) {
      return InvalidArgumentError("cannot encode an empty image as PNG");
    }
  } catch (const cv::Exception& e) {
    return InternalError(std::string("PNG encoding failed: ") + e.what());
  }
  return bytes;
}

}  // namespace abis::imaging
