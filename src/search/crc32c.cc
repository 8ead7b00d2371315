#include "search/crc32c.h"

#include <array>
#include <cstring>

#include <nmmintrin.h>

namespace abis::search {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;  // Reflected Castagnoli.

constexpr std::array<std::uint32_t, 256> MakeTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t value = i;
    for (int bit = 0; bit < 8; ++bit) value = (value >> 1) ^ ((value & 1u) ? kPolynomial : 0u);
    table[i] = value;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kTable = MakeTable();

__attribute__((target("sse4.2"))) std::uint32_t Crc32cHardware(std::uint32_t crc, const void* data,
                                                               std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  std::uint64_t value = ~crc;
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes, 8);
    value = _mm_crc32_u64(value, word);
    bytes += 8;
    size -= 8;
  }
  auto narrow = static_cast<std::uint32_t>(value);
  while (size-- > 0) narrow = _mm_crc32_u8(narrow, *bytes++);
  return ~narrow;
}

}  // namespace

std::uint32_t Crc32cPortable(std::uint32_t crc, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = (crc >> 8) ^ kTable[(crc ^ bytes[i]) & 0xFFu];
  return ~crc;
}

std::uint32_t Crc32c(std::uint32_t crc, const void* data, std::size_t size) {
  static const bool hardware = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return hardware ? Crc32cHardware(crc, data, size) : Crc32cPortable(crc, data, size);
}

}  // namespace abis::search
