// crc32c.h
//
// CRC-32C (Castagnoli) of a byte range: the checksum of gallery segment files
// and manifests. Uses the SSE4.2 crc32 instruction when the CPU has it (about
// 10 GB/s), else a table. Both give the same value.
//
// Thread safety: pure functions.

#ifndef ABIS_SEARCH_CRC32C_H_
#define ABIS_SEARCH_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace abis::search {

// Continues `crc` (start with 0) over `size` bytes.
std::uint32_t Crc32c(std::uint32_t crc, const void* data, std::size_t size);

// The table version, exposed so tests can compare it with the fast one.
std::uint32_t Crc32cPortable(std::uint32_t crc, const void* data, std::size_t size);

}  // namespace abis::search

#endif  // ABIS_SEARCH_CRC32C_H_
