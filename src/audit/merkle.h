// merkle.h
//
// Hashing for the audit log (docs/formats/audit_log.md): BLAKE2b-256 with
// one-byte domain separation, as in RFC 6962 / certificate-transparency
// tree_hasher.h:
//   leaf  = H(0x00 || leaf_bytes)
//   node  = H(0x01 || left || right)
//   chain = H(0x02 || previous_chain_head || leaf_bytes)   (genesis head: 32 zero bytes)
//   empty tree root = H("")
// The Merkle Tree Hash over n leaves is RFC 6962 section 2.1 (split at the
// largest power of two smaller than n); audit paths and their verification
// follow RFC 6962 section 2.1.1 and RFC 9162 section 2.1.3.2.
//
// Thread safety: free functions are pure; a CompactRange is a plain value.

#ifndef ABIS_AUDIT_MERKLE_H_
#define ABIS_AUDIT_MERKLE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "abis/status.h"

namespace abis::audit {

inline constexpr std::size_t kHashBytes = 32;
using Hash = std::array<std::uint8_t, kHashBytes>;

Hash HashLeaf(std::span<const std::uint8_t> leaf_bytes);
Hash HashLeaf(std::string_view leaf_bytes);
Hash HashChildren(const Hash& left, const Hash& right);
Hash ChainNext(const Hash& previous_head, std::string_view leaf_bytes);
Hash EmptyTreeRoot();
inline Hash GenesisChainHead() { return Hash{}; }

std::string HashToHex(const Hash& hash);
// InvalidArgument unless `hex` is exactly 64 lower-case hex digits.
Result<Hash> HashFromHex(std::string_view hex);

// Merkle Tree Hash of `leaf_hashes` (already leaf-hashed), by the RFC 6962
// recursion. Empty input gives EmptyTreeRoot().
Hash MerkleRoot(std::span<const Hash> leaf_hashes);

// Audit path for leaf `index` in the tree made of all of `leaf_hashes`,
// ordered from the leaf's sibling upwards. REQUIRES: index < size.
std::vector<Hash> InclusionPath(std::span<const Hash> leaf_hashes, std::uint64_t index);

// OK when `path` proves `leaf_hash` sits at `index` in a tree of
// `tree_size` leaves with root `root`; DataLoss otherwise (InvalidArgument
// for an index outside the tree or a path of the wrong length).
Status VerifyInclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                       std::span<const Hash> path, const Hash& root);

// The roots of the perfect subtrees covering leaves [0, size): O(log n)
// memory, amortised O(1) per Append, Root() in O(log n). Lets the log and
// the verifier compute the root at every checkpoint in one pass.
class CompactRange {
 public:
  void Append(const Hash& leaf_hash);
  Hash Root() const;
  std::uint64_t size() const { return size_; }

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> peaks_;  // Left to right, strictly decreasing subtree sizes.
};

}  // namespace abis::audit

#endif  // ABIS_AUDIT_MERKLE_H_
