#include "tests/integration/test_photos.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <opencv2/imgcodecs.hpp>

namespace abis::testing {

std::string ModelDir() { return ABIS_MODEL_DIR; }

bool FaceModelAvailable() {
  return std::filesystem::exists(ModelDir() + "/face_recognition_resnet_v1.dat") &&
         std::filesystem::exists("/usr/share/dlib/shape_predictor_68_face_landmarks.dat");
}

std::string SamplePhotoPath(int k) {
  return ModelDir() + "/face-api-1.7.15/demo/sample" + std::to_string(k) + ".jpg";
}

std::string SharedFacesDir() {
  std::string dir = std::string(ABIS_SHARED_DATA_DIR) + "/faces";
  return std::filesystem::is_directory(dir) ? dir : "";
}

std::vector<std::uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> EncodeJpeg(const cv::Mat& bgr) {
  std::vector<std::uint8_t> bytes;
  cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, 95});
  return bytes;
}

cv::Mat DecodeBgr(const std::vector<std::uint8_t>& bytes) {
  return cv::imdecode(bytes, cv::IMREAD_COLOR);
}

std::vector<std::uint8_t> CropAround(const std::vector<std::uint8_t>& photo, double x, double y,
                                     double width, double height) {
  cv::Mat image = DecodeBgr(photo);
  cv::Rect region =
      cv::Rect(cv::Rect2d(x - width * 0.4, y - height * 0.4, width * 1.8, height * 1.8)) &
      cv::Rect(0, 0, image.cols, image.rows);
  return EncodeJpeg(image(region).clone());
}

}  // namespace abis::testing
