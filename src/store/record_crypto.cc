#include "store/record_crypto.h"

#include <cstring>

#include <sodium.h>

namespace abis {
namespace {

static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kRecordNonceBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kRecordTagBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == SecretKey::kSize);

// Domain labels keep the three uses of the AEAD apart.
constexpr std::string_view kTemplateLabel = "abis/sealed-template/v1";
constexpr std::string_view kKeyWrapLabel = "abis/record-key/v1";
constexpr std::string_view kKeyCheckLabel = "abis/master-key-check/v1";

void AppendInt64(std::string& out, std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<char>(bits >> shift));
}

void AppendString(std::string& out, std::string_view text) {
  AppendInt64(out, static_cast<std::int64_t>(text.size()));
  out.append(text);
}

std::string TemplateAssociatedData(const TemplateBinding& binding) {
  std::string ad(kTemplateLabel);
  AppendInt64(ad, binding.reference_id);
  AppendInt64(ad, binding.identity_row_id);
  AppendInt64(ad, static_cast<std::int64_t>(binding.modality));
  AppendString(ad, binding.algorithm);
  AppendString(ad, binding.model_digest);
  return ad;
}

std::string KeyWrapAssociatedData(std::int64_t reference_id) {
  std::string ad(kKeyWrapLabel);
  AppendInt64(ad, reference_id);
  return ad;
}

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

WrappedKey WrapDataKey(const SecretKey& master_key, const SecretKey& data_key,
                       std::int64_t reference_id) {
  WrappedKey wrapped;
  wrapped.nonce.resize(kRecordNonceBytes);
  randombytes_buf(wrapped.nonce.data(), wrapped.nonce.size());
  wrapped.ciphertext.resize(kWrappedKeyBytes);
  const std::string ad = KeyWrapAssociatedData(reference_id);
  unsigned long long size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(wrapped.ciphertext.data()), &size, data_key.bytes().data(),
      data_key.bytes().size(), Bytes(ad), ad.size(), nullptr, Bytes(wrapped.nonce),
      master_key.bytes().data());
  return wrapped;
}

Status UnwrapDataKey(const SecretKey& master_key, std::span<const std::uint8_t> nonce,
                     std::span<const std::uint8_t> ciphertext, std::int64_t reference_id,
                     SecretKey& data_key) {
  if (nonce.size() != kRecordNonceBytes || ciphertext.size() != kWrappedKeyBytes) {
    return DataLossError("wrapped data key has the wrong size");
  }
  const std::string ad = KeyWrapAssociatedData(reference_id);
  unsigned long long size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          data_key.mutable_bytes().data(), &size, nullptr, ciphertext.data(), ciphertext.size(),
          Bytes(ad), ad.size(), nonce.data(), master_key.bytes().data()) != 0 ||
      size != SecretKey::kSize) {
    sodium_memzero(data_key.mutable_bytes().data(), SecretKey::kSize);
    return DataLossError(
        "data key does not unwrap under this master key (wrong master key, or the key row was"
        " tampered with)");
  }
  return Status::Ok();
}

std::string SealTemplate(const SecretKey& data_key, const TemplateBinding& binding,
                         std::string_view plaintext) {
  std::string sealed(kRecordNonceBytes + plaintext.size() + kRecordTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(sealed.data());
  randombytes_buf(nonce, kRecordNonceBytes);
  const std::string ad = TemplateAssociatedData(binding);
  unsigned long long size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kRecordNonceBytes, &size, Bytes(plaintext),
                                             plaintext.size(), Bytes(ad), ad.size(), nullptr, nonce,
                                             data_key.bytes().data());
  return sealed;
}

Status OpenSealedTemplate(const SecretKey& data_key, const TemplateBinding& binding,
                          std::span<const std::uint8_t> sealed, std::string& plaintext) {
  sodium_memzero(plaintext.data(), plaintext.size());
  plaintext.clear();
  if (sealed.size() < kRecordNonceBytes + kRecordTagBytes) {
    return DataLossError("sealed template is truncated");
  }
  plaintext.resize(sealed.size() - kRecordNonceBytes - kRecordTagBytes);
  const std::string ad = TemplateAssociatedData(binding);
  unsigned long long size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plaintext.data()), &size, nullptr,
          sealed.data() + kRecordNonceBytes, sealed.size() - kRecordNonceBytes, Bytes(ad),
          ad.size(), sealed.data(), data_key.bytes().data()) != 0) {
    plaintext.clear();
    return DataLossError(
        "sealed template fails authentication (tampered, moved from another row, or its row"
        " was edited)");
  }
  plaintext.resize(size);
  return Status::Ok();
}

std::string MakeMasterKeyCheck(const SecretKey& master_key) {
  std::string check(kRecordNonceBytes + kRecordTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(check.data());
  randombytes_buf(nonce, kRecordNonceBytes);
  unsigned long long size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kRecordNonceBytes, &size, nullptr, 0,
                                             Bytes(kKeyCheckLabel), kKeyCheckLabel.size(), nullptr,
                                             nonce, master_key.bytes().data());
  return check;
}

bool VerifyMasterKeyCheck(const SecretKey& master_key, std::span<const std::uint8_t> check) {
  if (check.size() != kRecordNonceBytes + kRecordTagBytes) return false;
  unsigned long long size = 0;
  unsigned char unused = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             &unused, &size, nullptr, check.data() + kRecordNonceBytes, kRecordTagBytes,
             Bytes(kKeyCheckLabel), kKeyCheckLabel.size(), check.data(),
             master_key.bytes().data()) == 0;
}

}  // namespace abis
