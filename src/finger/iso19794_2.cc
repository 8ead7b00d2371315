#include "finger/iso19794_2.h"

namespace abis::finger {

Result<MinutiaeRecord> DecodeIso19794_2(std::span<const std::uint8_t> bytes) {
  return internal::DecodeMinutiaeRecord(bytes.data(), bytes.size(),
                                        internal::RecordDialect::kIso19794_2_2005);
}

Result<MinutiaeRecord> DecodeIso19794_2(std::string_view bytes) {
  return DecodeIso19794_2(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

Result<std::string> EncodeIso19794_2(const MinutiaeRecord& record) {
  return internal::EncodeMinutiaeRecord(record, internal::RecordDialect::kIso19794_2_2005);
}

}  // namespace abis::finger
