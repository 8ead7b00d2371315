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

bool HexDecode(std::string_view hex, std::span<std::uint8_t> out) {
  if (hex.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    int value;
    if (c >= '0' && c <= '9') {
      value = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      value = c - 'a' + 10;
    } else {
      return false;
    }
    out[i / 2] = static_cast<std::uint8_t>((i % 2 == 0 ? 0 : out[i / 2] << 4) | value);
  }
  return true;
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
