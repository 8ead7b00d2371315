#include "audit/merkle.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sodium.h>

namespace abis::audit {
namespace {

// Independent RFC 6962 computation straight from the definition, with
// libsodium called directly.
Hash Blake(const std::string& bytes) {
  Hash out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  return out;
}

std::string Str(const Hash& hash) { return std::string(hash.begin(), hash.end()); }

Hash ReferenceRoot(const std::vector<std::string>& leaves, std::size_t begin, std::size_t end) {
  const std::size_t n = end - begin;
  if (n == 0) return Blake("");
  if (n == 1) return Blake(std::string(1, '\0') + leaves[begin]);
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return Blake(std::string(1, '\1') + Str(ReferenceRoot(leaves, begin, begin + k)) +
               Str(ReferenceRoot(leaves, begin + k, end)));
}

std::vector<std::string> Leaves(std::size_t n) {
  std::vector<std::string> leaves;
  for (std::size_t i = 0; i < n; ++i) leaves.push_back("leaf-" + std::to_string(i));
  return leaves;
}

std::vector<Hash> LeafHashes(const std::vector<std::string>& leaves) {
  std::vector<Hash> hashes;
  for (const std::string& leaf : leaves) hashes.push_back(HashLeaf(leaf));
  return hashes;
}

TEST(MerkleTest, EmptyTreeIsHashOfEmptyString) {
  ASSERT_GE(sodium_init(), 0);
  EXPECT_EQ(EmptyTreeRoot(), Blake(""));
  EXPECT_EQ(MerkleRoot({}), Blake(""));
  EXPECT_EQ(CompactRange().Root(), Blake(""));
}

TEST(MerkleTest, DomainSeparatedHashes) {
  const Hash a = HashLeaf(std::string("x"));
  EXPECT_EQ(a, Blake(std::string("\0x", 2)));
  EXPECT_EQ(HashChildren(a, a), Blake("\1" + Str(a) + Str(a)));
  EXPECT_EQ(ChainNext(GenesisChainHead(), "x"), Blake("\2" + std::string(32, '\0') + "x"));
  EXPECT_NE(HashLeaf(Str(a) + Str(a)), HashChildren(a, a));
}

TEST(MerkleTest, RootMatchesReferenceForSizes1To33) {
  for (std::size_t n = 1; n <= 33; ++n) {
    const auto leaves = Leaves(n);
    const auto hashes = LeafHashes(leaves);
    const Hash expected = ReferenceRoot(leaves, 0, n);
    EXPECT_EQ(MerkleRoot(hashes), expected) << n;
    CompactRange range;
    for (const Hash& hash : hashes) range.Append(hash);
    EXPECT_EQ(range.size(), n);
    EXPECT_EQ(range.Root(), expected) << n;
  }
}

TEST(MerkleTest, InclusionProofsVerifyForEveryLeafAndFailForWrongOnes) {
  for (std::size_t n = 1; n <= 33; ++n) {
    const auto hashes = LeafHashes(Leaves(n));
    const Hash root = MerkleRoot(hashes);
    for (std::size_t index = 0; index < n; ++index) {
      const auto path = InclusionPath(hashes, index);
      EXPECT_TRUE(VerifyInclusion(hashes[index], index, n, path, root).ok()) << n << "/" << index;
      // Wrong leaf content.
      EXPECT_FALSE(VerifyInclusion(HashLeaf(std::string("forged")), index, n, path, root).ok());
      // Right leaf claimed at another index.
      if (n > 1) {
        const std::size_t other = (index + 1) % n;
        EXPECT_FALSE(VerifyInclusion(hashes[index], other, n, path, root).ok());
      }
      // The path of the n-leaf tree does not lead to the root of a bigger
      // tree (a proof binds to one signed root; the size alone may share its
      // shape).
      auto bigger = hashes;
      bigger.push_back(HashLeaf(std::string("extra")));
      EXPECT_FALSE(VerifyInclusion(hashes[index], index, n + 1, path, MerkleRoot(bigger)).ok());
      // Tampered or shortened path.
      if (!path.empty()) {
        auto bad = path;
        bad[0][0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(hashes[index], index, n, bad, root).ok());
        bad = path;
        bad.pop_back();
        EXPECT_FALSE(VerifyInclusion(hashes[index], index, n, bad, root).ok());
      }
      auto longer = path;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(hashes[index], index, n, longer, root).ok());
    }
    EXPECT_FALSE(VerifyInclusion(hashes[0], n, n, {}, root).ok());
  }
}

TEST(MerkleTest, HexRoundTrip) {
  const Hash hash = HashLeaf(std::string("abc"));
  auto back = HashFromHex(HashToHex(hash));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, hash);
  EXPECT_FALSE(HashFromHex("ABCD").ok());
  EXPECT_FALSE(HashFromHex(std::string(64, 'G')).ok());
  EXPECT_FALSE(HashFromHex(std::string(64, 'A')).ok());
}

}  // namespace
}  // namespace abis::audit
