// test_photos.h
//
// Real photos for the integration tests, none committed: the face-api npm
// package's group photos (fetched by scripts/fetch_models.sh) and, when
// present, ../shared/data/faces. Tests skip when these are missing.

#ifndef ABIS_TESTS_INTEGRATION_TEST_PHOTOS_H_
#define ABIS_TESTS_INTEGRATION_TEST_PHOTOS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace abis::testing {

std::string ModelDir();
bool FaceModelAvailable();
std::string SamplePhotoPath(int k);  // face-api demo/sample<k>.jpg
std::string SharedFacesDir();        // "" when ../shared/data/faces is absent.

std::vector<std::uint8_t> ReadBytes(const std::string& path);
std::vector<std::uint8_t> EncodeJpeg(const cv::Mat& bgr);
cv::Mat DecodeBgr(const std::vector<std::uint8_t>& bytes);

// A group photo cut to a single face: region around `box` with a margin.
std::vector<std::uint8_t> CropAround(const std::vector<std::uint8_t>& photo, double x, double y,
                                     double width, double height);

}  // namespace abis::testing

#endif  // ABIS_TESTS_INTEGRATION_TEST_PHOTOS_H_
