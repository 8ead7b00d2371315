// test_chips.h
//
// Deterministic synthetic 150x150 face chips for the face model tests. Only
// integer arithmetic, so every platform produces the same pixels and a golden
// descriptor stays comparable.

#ifndef ABIS_FACE_TEST_CHIPS_H_
#define ABIS_FACE_TEST_CHIPS_H_

#include <algorithm>
#include <cstdlib>

#include <dlib/matrix.h>
#include <dlib/pixel.h>

namespace abis::face::testing {

// Smooth colour gradients, a bright radial blob and two dark bands; `variant`
// shifts and recolours the pattern so different variants give different
// descriptors.
inline dlib::matrix<dlib::rgb_pixel> SyntheticChip(int variant = 0) {
  dlib::matrix<dlib::rgb_pixel> chip(150, 150);
  const int centre_x = 75 + 7 * (variant % 5) - 14;
  const int centre_y = 70 + 5 * (variant % 3) - 5;
  for (int row = 0; row < 150; ++row) {
    for (int col = 0; col < 150; ++col) {
      int dx = col - centre_x;
      int dy = row - centre_y;
      int blob = std::max(0, 120 - (dx * dx + dy * dy) / 40);
      int band = (std::abs(row - 55) < 6 || std::abs(row - 110) < 5) ? 70 : 0;
      int red = (col * 170) / 149 + blob - band + 11 * variant;
      int green = (row * 150) / 149 + blob / 2 - band + 3 * variant;
      int blue = ((col + row) * 90) / 298 + blob / 3 - band + 60 - 7 * variant;
      chip(row, col) = dlib::rgb_pixel(static_cast<unsigned char>(std::clamp(red, 0, 255)),
                                       static_cast<unsigned char>(std::clamp(green, 0, 255)),
                                       static_cast<unsigned char>(std::clamp(blue, 0, 255)));
    }
  }
  return chip;
}

}  // namespace abis::face::testing

#endif  // ABIS_FACE_TEST_CHIPS_H_
