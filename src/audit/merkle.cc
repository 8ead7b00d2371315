#include "audit/merkle.h"

#include <bit>

#include <sodium.h>

#include "core/digest.h"

namespace abis::audit {
namespace {

constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kNodePrefix = 0x01;
constexpr std::uint8_t kChainPrefix = 0x02;

class Hasher {
 public:
  Hasher() { crypto_generichash_init(&state_, nullptr, 0, kHashBytes); }
  Hasher& Add(const void* data, std::size_t size) {
    crypto_generichash_update(&state_, static_cast<const unsigned char*>(data), size);
    return *this;
  }
  Hasher& Add(std::uint8_t byte) { return Add(&byte, 1); }
  Hasher& Add(const Hash& hash) { return Add(hash.data(), hash.size()); }
  Hash Finish() {
    Hash out{};
    crypto_generichash_final(&state_, out.data(), out.size());
    return out;
  }

 private:
  crypto_generichash_state state_;
};

// Largest power of two strictly smaller than n. REQUIRES: n >= 2.
std::uint64_t SplitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

void PathRecursive(std::span<const Hash> leaves, std::uint64_t index, std::vector<Hash>& out) {
  const std::uint64_t n = leaves.size();
  if (n <= 1) return;
  const std::uint64_t k = SplitPoint(n);
  if (index < k) {
    PathRecursive(leaves.subspan(0, k), index, out);
    out.push_back(MerkleRoot(leaves.subspan(k)));
  } else {
    PathRecursive(leaves.subspan(k), index - k, out);
    out.push_back(MerkleRoot(leaves.subspan(0, k)));
  }
}

}  // namespace

Hash HashLeaf(std::span<const std::uint8_t> leaf_bytes) {
  return Hasher().Add(kLeafPrefix).Add(leaf_bytes.data(), leaf_bytes.size()).Finish();
}

Hash HashLeaf(std::string_view leaf_bytes) {
  return Hasher().Add(kLeafPrefix).Add(leaf_bytes.data(), leaf_bytes.size()).Finish();
}

Hash HashChildren(const Hash& left, const Hash& right) {
  return Hasher().Add(kNodePrefix).Add(left).Add(right).Finish();
}

Hash ChainNext(const Hash& previous_head, std::string_view leaf_bytes) {
  return Hasher()
      .Add(kChainPrefix)
      .Add(previous_head)
      .Add(leaf_bytes.data(), leaf_bytes.size())
      .Finish();
}

Hash EmptyTreeRoot() { return Hasher().Finish(); }

std::string HashToHex(const Hash& hash) { return HexEncode(hash); }

Result<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != kHashBytes * 2) return InvalidArgumentError("hash must be 64 hex digits");
  Hash out{};
  if (!HexDecode(hex, out)) return InvalidArgumentError("hash must be lower-case hex");
  return out;
}

Hash MerkleRoot(std::span<const Hash> leaf_hashes) {
  const std::uint64_t n = leaf_hashes.size();
  if (n == 0) return EmptyTreeRoot();
  if (n == 1) return leaf_hashes[0];
  const std::uint64_t k = SplitPoint(n);
  return HashChildren(MerkleRoot(leaf_hashes.subspan(0, k)), MerkleRoot(leaf_hashes.subspan(k)));
}

std::vector<Hash> InclusionPath(std::span<const Hash> leaf_hashes, std::uint64_t index) {
  std::vector<Hash> out;
  if (index >= leaf_hashes.size()) return out;
  PathRecursive(leaf_hashes, index, out);
  return out;
}

Status VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                       std::span<const Hash> path, const Hash& root) {
  if (index >= tree_size) return InvalidArgumentError("leaf index outside the tree");
  // RFC 9162 section 2.1.3.2.
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) return InvalidArgumentError("inclusion path too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = HashChildren(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return InvalidArgumentError("inclusion path too short");
  if (r != root) return DataLossError("inclusion proof does not lead to the root");
  return Status::Ok();
}

void CompactRange::Append(const Hash& leaf_hash) {
  peaks_.push_back(leaf_hash);
  // Merge equal-sized subtrees: one merge per trailing one bit of size_.
  for (std::uint64_t bits = size_; (bits & 1) == 1; bits >>= 1) {
    Hash right = peaks_.back();
    peaks_.pop_back();
    peaks_.back() = HashChildren(peaks_.back(), right);
  }
  ++size_;
}

Hash CompactRange::Root() const {
  if (peaks_.empty()) return EmptyTreeRoot();
  Hash root = peaks_.back();
  for (std::size_t i = peaks_.size() - 1; i-- > 0;) root = HashChildren(peaks_[i], root);
  return root;
}

}  // namespace abis::audit
