#include "imaging/image_decoder.h"

#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

namespace abis::imaging {
namespace {

std::vector<std::uint8_t> Encode(const cv::Mat& image, const std::string& ext) {
  std::vector<std::uint8_t> bytes;
  cv::imencode(ext, image, bytes);
  return bytes;
}

cv::Mat Gradient(int width, int height, int channels) {
  cv::Mat image(height, width, CV_8UC(channels));
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        image.ptr<std::uint8_t>(y)[x * channels + c] =
            static_cast<std::uint8_t>((x + y + 40 * c) % 256);
      }
    }
  }
  return image;
}

// A PNG made only of a signature and an IHDR chunk declaring the given size.
std::vector<std::uint8_t> PngHeaderOnly(std::uint32_t width, std::uint32_t height) {
  std::vector<std::uint8_t> bytes = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n',
                                     0,    0,   0,   13,  'I',  'H',  'D',  'R'};
  for (std::uint32_t value : {width, height}) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((value >> shift) & 0xFF);
  }
  bytes.insert(bytes.end(), {8, 2, 0, 0, 0, 0, 0, 0, 0});
  return bytes;
}

TEST(ImageDecoderTest, DecodesPngAndJpegToThreeChannels) {
  for (const char* ext : {".png", ".jpg"}) {
    for (int channels : {1, 3}) {
      auto decoded = DecodeImage(Encode(Gradient(64, 48, channels), ext));
      ASSERT_TRUE(decoded.ok()) << ext << " " << decoded.status().ToString();
      EXPECT_EQ(decoded->bgr.type(), CV_8UC3);
      EXPECT_EQ(decoded->info.width, 64);
      EXPECT_EQ(decoded->info.height, 48);
      EXPECT_EQ(decoded->info.format,
                std::string(ext) == ".png" ? ImageFormat::kPng : ImageFormat::kJpeg);
    }
  }
}

TEST(ImageDecoderTest, RejectsEmptyInput) {
  auto result = DecodeImage({});
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("empty"), std::string::npos);
}

TEST(ImageDecoderTest, RejectsNonImages) {
  std::string text = "%PDF-1.4 definitely not a photo";
  auto result = DecodeImage(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("JPEG or PNG"), std::string::npos);
}

TEST(ImageDecoderTest, RefusesDecompressionBombFromHeaderAlone) {
  auto result = DecodeImage(PngHeaderOnly(100000, 100000));
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  auto info = ProbeImage(PngHeaderOnly(100000, 100000));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->width, 100000);
}

TEST(ImageDecoderTest, RefusesOversizedJpegHeader) {
  std::vector<std::uint8_t> bytes = Encode(Gradient(64, 48, 3), ".jpg");
  // Patch the SOF0 frame header to claim 60000x60000.
  for (std::size_t i = 2; i + 9 < bytes.size(); ++i) {
    if (bytes[i] == 0xFF && bytes[i + 1] == 0xC0) {
      bytes[i + 5] = bytes[i + 7] = 0xEA;
      bytes[i + 6] = bytes[i + 8] = 0x60;
      break;
    }
  }
  EXPECT_EQ(DecodeImage(bytes).status().code(), StatusCode::kResourceExhausted);
}

TEST(ImageDecoderTest, RejectsTruncatedPng) {
  std::vector<std::uint8_t> bytes = Encode(Gradient(200, 200, 3), ".png");
  bytes.resize(bytes.size() / 2);
  EXPECT_EQ(DecodeImage(bytes).status().code(), StatusCode::kInvalidArgument);
}

TEST(ImageDecoderTest, RejectsZeroAndTinyDimensions) {
  EXPECT_EQ(DecodeImage(PngHeaderOnly(0, 10)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeImage(Encode(Gradient(8, 8, 3), ".png")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ImageDecoderTest, RejectsOverByteLimit) {
  DecodeLimits limits;
  limits.max_bytes = 100;
  EXPECT_EQ(DecodeImage(Encode(Gradient(64, 64, 3), ".png"), limits).status().code(),
            StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace abis::imaging
