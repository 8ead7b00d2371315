// digest.h
//
// Content digests used for provenance: model files, probe images (only the
// hash of a probe is ever kept), templates. SHA-256 via libsodium.

#ifndef ABIS_CORE_DIGEST_H_
#define ABIS_CORE_DIGEST_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace abis {

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::span<const std::uint8_t> bytes);
std::string Sha256Hex(std::string_view bytes);

// Lower-case hex encoding.
std::string HexEncode(std::span<const std::uint8_t> bytes);

// Decodes exactly out.size() bytes from 2 * out.size() lower-case hex digits;
// false (with `out` unspecified) for any other length or character.
bool HexDecode(std::string_view hex, std::span<std::uint8_t> out);

}  // namespace abis

#endif  // ABIS_CORE_DIGEST_H_
