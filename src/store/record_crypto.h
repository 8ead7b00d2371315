// record_crypto.h
//
// Envelope encryption of stored references (docs/store.md, "Encryption at
// rest"), with libsodium's XChaCha20-Poly1305-IETF AEAD and random 192-bit
// nonces:
//
//   sealed template = nonce(24) || AEAD(data key, template record bytes,
//                                       associated data = the row binding)
//   wrapped key     = AEAD(master key, data key, associated data = reference id)
//
// The associated data binds a sealed template to its row (reference id,
// identity row id, modality, algorithm, model digest), so a blob copied or
// moved to another row, or a row whose columns were edited, fails to open.
// Destroying the wrapped key makes the sealed template unreadable
// (crypto-erase).
//
// Thread safety: pure functions.

#ifndef ABIS_STORE_RECORD_CRYPTO_H_
#define ABIS_STORE_RECORD_CRYPTO_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "abis/biometric_template.h"
#include "abis/status.h"

#include "store/master_key.h"

namespace abis {

inline constexpr std::size_t kRecordNonceBytes = 24;
inline constexpr std::size_t kRecordTagBytes = 16;
inline constexpr std::size_t kWrappedKeyBytes = SecretKey::kSize + kRecordTagBytes;

// What a sealed template is bound to: the columns of its row.
struct TemplateBinding {
  std::int64_t reference_id = 0;
  std::int64_t identity_row_id = 0;
  Modality modality = Modality::kFace;
  std::string_view algorithm;
  std::string_view model_digest;
};

struct WrappedKey {
  std::string nonce;       // kRecordNonceBytes.
  std::string ciphertext;  // kWrappedKeyBytes.
};

// Wraps `data_key` under `master_key` for reference `reference_id`.
WrappedKey WrapDataKey(const SecretKey& master_key, const SecretKey& data_key,
                       std::int64_t reference_id);

// Unwraps into `data_key`. DataLoss if the wrap does not authenticate (wrong
// master key, a key of another reference, or tampering).
Status UnwrapDataKey(const SecretKey& master_key, std::span<const std::uint8_t> nonce,
                     std::span<const std::uint8_t> ciphertext, std::int64_t reference_id,
                     SecretKey& data_key);

// Seals `plaintext` (an encoded template record) for the row `binding`.
std::string SealTemplate(const SecretKey& data_key, const TemplateBinding& binding,
                         std::string_view plaintext);

// Opens a sealed template into `plaintext` (cleared first). DataLoss if it
// does not authenticate (tampered, moved to another row, wrong key).
Status OpenSealedTemplate(const SecretKey& data_key, const TemplateBinding& binding,
                          std::span<const std::uint8_t> sealed, std::string& plaintext);

// A value proving that a master key is the one a store was sealed with,
// without revealing anything about it: an AEAD tag over a fixed label.
std::string MakeMasterKeyCheck(const SecretKey& master_key);
// True when `check` was made by MakeMasterKeyCheck with this key.
bool VerifyMasterKeyCheck(const SecretKey& master_key, std::span<const std::uint8_t> check);

}  // namespace abis

#endif  // ABIS_STORE_RECORD_CRYPTO_H_
