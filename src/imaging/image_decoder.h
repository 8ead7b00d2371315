// image_decoder.h
//
// Turns untrusted capture bytes into pixels. The image's dimensions are read
// from its header *before* any pixel is decoded, so a decompression bomb (a
// small file declaring a huge image) is refused without allocating it.
// Supported: JPEG and PNG (8-bit grey, RGB, RGBA; 16-bit is reduced to 8).
//
// Thread safety: free functions, safe to call concurrently.

#ifndef ABIS_IMAGING_IMAGE_DECODER_H_
#define ABIS_IMAGING_IMAGE_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "abis/status.h"

namespace abis::imaging {

enum class ImageFormat { kUnknown, kJpeg, kPng };

struct DecodeLimits {
  std::size_t max_bytes = 32u << 20;     // Encoded size.
  int max_side = 12000;                  // Pixels, either dimension.
  std::int64_t max_pixels = 40'000'000;  // width * height.
  int min_side = 16;                     // Anything smaller holds no usable biometric.
};

struct ImageInfo {
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0;
  int height = 0;
};

struct DecodedImage {
  ImageInfo info;
  cv::Mat bgr;  // CV_8UC3, always three channels.
};

std::string FormatName(ImageFormat format);

// Reads format and dimensions from the header alone. InvalidArgument for
// empty input, unknown formats and malformed headers.
Result<ImageInfo> ProbeImage(std::span<const std::uint8_t> bytes);

// Probes, checks `limits`, then decodes. Errors (all InvalidArgument, except
// ResourceExhausted for dimensions over the limits) say what was wrong.
Result<DecodedImage> DecodeImage(std::span<const std::uint8_t> bytes,
                                 const DecodeLimits& limits = {});

// Lossless PNG bytes of an 8-bit image (for face crops shown to reviewers).
Result<std::vector<std::uint8_t>> EncodePng(const cv::Mat& image);

}  // namespace abis::imaging

#endif  // ABIS_IMAGING_IMAGE_DECODER_H_
