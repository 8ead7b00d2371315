// crc32.h
//
// CRC-32 as used by zlib, PNG and Ethernet (IEEE 802.3: reflected polynomial
// 0xEDB88320, initial value and final XOR 0xFFFFFFFF). Detects accidental
// corruption of stored records; it is not a defence against tampering (the
// audit log signs, the codec only checks).
//
// Thread safety: pure functions.

#ifndef ABIS_TEMPLATES_CRC32_H_
#define ABIS_TEMPLATES_CRC32_H_

#include <cstdint>
#include <span>

namespace abis {

// CRC-32 of `bytes`. Crc32 of "123456789" is 0xCBF43926.
std::uint32_t Crc32(std::span<const std::uint8_t> bytes);

// Continues a CRC over more bytes: Crc32Extend(Crc32(a), b) == Crc32(a + b).
// Crc32Extend(0, bytes) == Crc32(bytes).
std::uint32_t Crc32Extend(std::uint32_t crc, std::span<const std::uint8_t> bytes);

}  // namespace abis

#endif  // ABIS_TEMPLATES_CRC32_H_
