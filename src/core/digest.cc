#include "core/digest.h"

#include <array>
#include <cstdlib>

#include <sodium.h>

namespace abis {
namespace {

void EnsureSodium() {
  // sodium_init is idempotent and thread-safe; a failure leaves no safe hash.
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) std::abort();
}

}  // namespace

std::string HexEncode(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (std::uint8_t byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0xF]);
  }
  return hex;
}

std::string Sha256Hex(std::span<const std::uint8_t> bytes) {
  EnsureSodium();
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
  return HexEncode(digest);
}

std::string Sha256Hex(std::string_view bytes) {
  return Sha256Hex(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace abis
