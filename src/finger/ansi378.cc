#include "finger/ansi378.h"

namespace abis::finger {

Result<MinutiaeRecord> DecodeAnsi378(std::span<const std::uint8_t> bytes) {
  return internal::DecodeMinutiaeRecord(bytes.data(), bytes.size(),
                                        internal::RecordDialect::kAnsi378_2004);
}

Result<MinutiaeRecord> DecodeAnsi378(std::string_view bytes) {
  return DecodeAnsi378(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

Result<std::string> EncodeAnsi378(const MinutiaeRecord& record) {
  return internal::EncodeMinutiaeRecord(record, internal::RecordDialect::kAnsi378_2004);
}

}  // namespace abis::finger
