#include "search/synthetic_gallery.h"

#include <cmath>

namespace abis::search {
namespace {

std::uint64_t SplitMix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Approximately standard normal: sum of four 16-bit uniforms (Irwin-Hall),
// centred and scaled; cheap enough for billions of values.
float Gaussian(std::uint64_t bits) {
  float sum = static_cast<float>(bits & 0xFFFF) + static_cast<float>((bits >> 16) & 0xFFFF) +
              static_cast<float>((bits >> 32) & 0xFFFF) + static_cast<float>(bits >> 48);
  constexpr float kMean = 4 * 32767.5f;
  constexpr float kStd = 37837.2f;  // sqrt(4 * 65536^2 / 12).
  return (sum - kMean) / kStd;
}

void FillGaussian(std::uint64_t seed, float sigma, std::span<float> out) {
  std::uint64_t state = seed;
  for (float& value : out) value = sigma * Gaussian(SplitMix(state));
}

}  // namespace

SyntheticGallery::SyntheticGallery(const SyntheticGalleryOptions& options)
    : options_(options), mean_(static_cast<std::size_t>(options.dims)) {
  FillGaussian(options.seed * 0x51ED27ull + 17,
               static_cast<float>(options.mean_norm / std::sqrt(options.dims)), mean_);
}

void SyntheticGallery::Sample(std::int64_t identity, std::uint64_t noise_seed,
                              std::span<float> out) const {
  const float sqrt_dims = std::sqrt(static_cast<float>(options_.dims));
  std::uint64_t centre_seed =
      (static_cast<std::uint64_t>(identity) * 2 + 1) ^ (options_.seed << 40);
  std::uint64_t centre_state = centre_seed;
  std::uint64_t noise_state = noise_seed;
  const auto centre_sigma = static_cast<float>(options_.identity_norm) / sqrt_dims;
  const auto noise_sigma = static_cast<float>(options_.noise_norm) / sqrt_dims;
  // Per-capture gain: embeddings' norms vary with the capture.
  float gain = 0.85f + 0.3f * static_cast<float>(SplitMix(noise_state) >> 40) / 16777216.0f;
  for (int i = 0; i < options_.dims; ++i) {
    float centre = centre_sigma * Gaussian(SplitMix(centre_state));
    float noise = noise_sigma * Gaussian(SplitMix(noise_state));
    out[static_cast<std::size_t>(i)] = gain * (mean_[static_cast<std::size_t>(i)] + centre + noise);
  }
}

void SyntheticGallery::Row(std::uint64_t row, std::span<float> out) const {
  Sample(IdentityOfRow(row), row * 0x2545F4914F6CDD1Dull + options_.seed, out);
}

void SyntheticGallery::Probe(std::int64_t identity, std::uint64_t capture,
                             std::span<float> out) const {
  Sample(identity, ~(capture * 0x9E3779B97F4A7C15ull + options_.seed * 31 + 7), out);
}

}  // namespace abis::search
