// file_io.h
//
// Whole-file reads with an explicit size limit (capture files are untrusted),
// and atomic writes (write to a temporary file, fsync, rename) so a crash
// never leaves a half-written model or report behind.

#ifndef ABIS_CORE_FILE_IO_H_
#define ABIS_CORE_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "abis/status.h"

namespace abis {

inline constexpr std::size_t kDefaultMaxFileBytes = 64u << 20;  // 64 MiB.

// NotFound if missing, InvalidArgument if a directory or larger than
// `max_bytes`, Unavailable on an I/O error.
Result<std::vector<std::uint8_t>> ReadFileBytes(const std::string& path,
                                                std::size_t max_bytes = kDefaultMaxFileBytes);

Status WriteFileAtomically(const std::string& path, std::string_view contents);

}  // namespace abis

#endif  // ABIS_CORE_FILE_IO_H_
