#include "finger/finger_index.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <thread>
#include <unordered_map>

namespace abis::finger {
namespace {

// Bits are sampled from cells within this fraction of the radius: outer
// cells are often invalid (outside the print) and so carry no information.
constexpr float kInnerRadiusFraction = 0.75f;
constexpr int kRotationBins = 16;

std::uint64_t SplitMix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool Compatible(FingerPosition query, FingerPosition gallery) {
  return query == FingerPosition::kUnknown || gallery == FingerPosition::kUnknown ||
         query == gallery;
}

}  // namespace

FingerIndex::FingerIndex(FingerIndexOptions options) : options_(options) {
  options_valid_ = options_.hash_functions >= 1 && options_.hash_functions <= 256 &&
                   options_.minhashes_per_key >= 1 && options_.minhashes_per_key <= 8;
  if (!options_valid_) return;
  bits_per_cylinder_ = MccCellsInDisc() * kMccDirectionCells;
  std::vector<bool> inner(bits_per_cylinder_, false);
  for (int cell = 0; cell < MccCellsInDisc(); ++cell) {
    if (MccDiscCellDistance(cell) > kInnerRadiusFraction * kMccRadius) continue;
    for (int k = 0; k < kMccDirectionCells; ++k) inner[k * MccCellsInDisc() + cell] = true;
  }
  const int permutations = options_.hash_functions * options_.minhashes_per_key;
  ranks_.assign(static_cast<std::size_t>(permutations) * bits_per_cylinder_, 0xFFFF);
  std::uint64_t state = options_.seed;
  std::vector<std::uint16_t> order(bits_per_cylinder_);
  for (int p = 0; p < permutations; ++p) {
    for (int b = 0; b < bits_per_cylinder_; ++b) order[b] = static_cast<std::uint16_t>(b);
    for (int b = bits_per_cylinder_ - 1; b > 0; --b) {  // Fisher-Yates
      std::swap(order[b], order[SplitMix(state) % static_cast<std::uint64_t>(b + 1)]);
    }
    std::uint16_t* ranks = ranks_.data() + static_cast<std::size_t>(p) * bits_per_cylinder_;
    for (int rank = 0; rank < bits_per_cylinder_; ++rank) {
      if (inner[order[rank]]) ranks[order[rank]] = static_cast<std::uint16_t>(rank);
    }
  }
  buckets_.assign(options_.hash_functions,
                  std::vector<std::vector<Entry>>(std::size_t{1} << kBucketBits));
}

bool FingerIndex::Keys(const std::uint64_t* bits, std::uint32_t* keys) const {
  std::uint16_t set_bits[kMccWordsPerCylinder * 64];
  int count = 0;
  for (int w = 0; w < kMccWordsPerCylinder; ++w) {
    for (std::uint64_t word = bits[w]; word != 0; word &= word - 1) {
      set_bits[count++] = static_cast<std::uint16_t>(w * 64 + std::countr_zero(word));
    }
  }
  const int r = options_.minhashes_per_key;
  bool any = false;
  for (int f = 0; f < options_.hash_functions; ++f) {
    std::uint32_t key = 0;
    for (int j = 0; j < r; ++j) {
      const std::uint16_t* ranks =
          ranks_.data() + static_cast<std::size_t>(f * r + j) * bits_per_cylinder_;
      std::uint16_t minimum = 0xFFFF;
      for (int i = 0; i < count; ++i) minimum = std::min(minimum, ranks[set_bits[i]]);
      if (minimum != 0xFFFF) any = true;
      key = (key ^ minimum) * 0x01000193u + 0x9E3779B9u;  // FNV-style mix of the r values
    }
    keys[f] = key;
  }
  return any;
}

Result<std::size_t> FingerIndex::Add(std::uint64_t identity, PreparedFinger finger) {
  if (!options_valid_) {
    return InvalidArgumentError("finger index needs 1..256 hash functions of 1..8 MinHashes");
  }
  if (fingers_.size() >= std::numeric_limits<std::uint32_t>::max()) {
    return InvalidArgumentError("finger index is full");
  }
  const auto index = static_cast<std::uint32_t>(fingers_.size());
  std::vector<std::uint32_t> keys(options_.hash_functions);
  for (std::size_t c = 0; c < finger.cylinder_count(); ++c) {
    if (!Keys(finger.cylinder_bits(c), keys.data())) continue;
    const std::uint8_t angle =
        static_cast<std::uint8_t>(finger.angle_units[finger.cylinder_minutia[c]] >> 8);
    for (int f = 0; f < options_.hash_functions; ++f) {
      buckets_[f][BucketOf(keys[f])].push_back({index, CheckOf(keys[f]), angle, 0});
      ++entries_;
    }
  }
  vote_weight_.push_back(
      1.0f / std::sqrt(static_cast<float>(std::max<std::size_t>(1, finger.cylinder_count()))));
  ++position_counts_[static_cast<int>(finger.position) % 11];
  identities_.push_back(identity);
  fingers_.push_back(std::move(finger));
  return static_cast<std::size_t>(index);
}

std::size_t FingerIndex::MemoryBytes() const {
  std::size_t bytes = 0;
  for (const PreparedFinger& f : fingers_) bytes += f.MemoryBytes();
  for (const auto& function : buckets_) {
    for (const auto& bucket : function) bytes += sizeof(bucket) + bucket.capacity() * sizeof(Entry);
  }
  return bytes + identities_.capacity() * 8 + vote_weight_.capacity() * 4;
}

std::size_t FingerIndex::EligibleCount(FingerPosition position) const {
  if (position == FingerPosition::kUnknown) return fingers_.size();
  return position_counts_[static_cast<int>(position) % 11] +
         position_counts_[static_cast<int>(FingerPosition::kUnknown)];
}

std::vector<std::size_t> FingerIndex::ShortlistImpl(const PreparedFinger& query, double penetration,
                                                    std::size_t min_count,
                                                    std::size_t* eligible_out) const {
  const std::size_t eligible = EligibleCount(query.position);
  if (eligible_out) *eligible_out = eligible;
  const std::size_t wanted = std::min(
      eligible, std::max(min_count, static_cast<std::size_t>(std::ceil(penetration * eligible))));
  // votes[finger * kRotationBins + bin]
  std::vector<std::uint16_t> votes(fingers_.size() * kRotationBins, 0);
  std::vector<std::uint32_t> touched;
  if (!options_valid_) return {};
  std::vector<std::uint32_t> keys(options_.hash_functions);
  const double mean_bucket =
      static_cast<double>(entries_) /
      (static_cast<double>(options_.hash_functions) * (std::size_t{1} << kBucketBits));
  const std::size_t crowded =
      options_.skip_crowded_buckets > 0
          ? static_cast<std::size_t>(std::max(64.0, options_.skip_crowded_buckets * mean_bucket))
          : std::numeric_limits<std::size_t>::max();
  for (std::size_t c = 0; c < query.cylinder_count(); ++c) {
    if (!Keys(query.cylinder_bits(c), keys.data())) continue;
    const auto query_angle =
        static_cast<std::uint8_t>(query.angle_units[query.cylinder_minutia[c]] >> 8);
    for (int f = 0; f < options_.hash_functions; ++f) {
      const std::uint32_t key = keys[f];
      const std::uint16_t check = CheckOf(key);
      const std::vector<Entry>& bucket = buckets_[f][BucketOf(key)];
      if (bucket.size() > crowded) continue;
      for (const Entry& entry : bucket) {
        if (entry.check != check) continue;
        const int bin =
            static_cast<std::uint8_t>(entry.angle - query_angle) / (256 / kRotationBins);
        std::uint16_t* finger_votes = votes.data() + std::size_t{entry.finger} * kRotationBins;
        bool fresh = true;
        for (int b = 0; b < kRotationBins && fresh; ++b) fresh = finger_votes[b] == 0;
        if (fresh) touched.push_back(entry.finger);
        if (finger_votes[bin] < 0xFFFF) ++finger_votes[bin];
      }
    }
  }
  std::vector<std::pair<float, std::uint32_t>> ranked;
  ranked.reserve(touched.size());
  for (std::uint32_t finger : touched) {
    if (!Compatible(query.position, fingers_[finger].position)) continue;
    const std::uint16_t* finger_votes = votes.data() + std::size_t{finger} * kRotationBins;
    int best = 0;
    for (int b = 0; b < kRotationBins; ++b) {
      best = std::max(best, finger_votes[b] + finger_votes[(b + 1) % kRotationBins]);
    }
    ranked.push_back({best * vote_weight_[finger], finger});
  }
  const std::size_t keep = std::min(wanted, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                    ranked.end(), [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  std::vector<std::size_t> shortlist;
  shortlist.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) shortlist.push_back(ranked[i].second);
  return shortlist;
}

std::vector<std::size_t> FingerIndex::Shortlist(const PreparedFinger& query, std::size_t count,
                                                std::size_t* eligible) const {
  return ShortlistImpl(query, 0.0, count, eligible);
}

Result<std::vector<IdentityCandidate>> FingerIndex::Search(std::span<const PreparedFinger> query,
                                                           const FingerSearchOptions& options,
                                                           FingerSearchStats* stats) const {
  if (query.empty()) return InvalidArgumentError("finger search needs at least one query finger");
  if (!(options.penetration > 0.0) || options.penetration > 1.0) {
    return InvalidArgumentError("finger search penetration must be in (0, 1]");
  }
  FingerSearchStats local;
  FingerSearchStats& s = stats ? *stats : local;
  s = FingerSearchStats{};
  s.gallery_fingers = fingers_.size();

  struct Fused {
    std::vector<double> best;  // per query finger
    std::size_t best_finger = 0;
    double best_single = -1.0;
  };
  std::unordered_map<std::uint64_t, Fused> fused;
  const ScoreCalibration& calibration = ScoreCalibration::Default();
  for (std::size_t q = 0; q < query.size(); ++q) {
    std::size_t eligible = 0;
    const std::vector<std::size_t> shortlist =
        ShortlistImpl(query[q], options.penetration, options.min_shortlist, &eligible);
    s.eligible_fingers += eligible;
    s.full_comparisons += shortlist.size();
    std::vector<double> scores(shortlist.size());
    const int threads = static_cast<int>(
        std::min<std::size_t>(static_cast<std::size_t>(std::max(1, options.threads)),
                              std::max<std::size_t>(1, shortlist.size())));
    auto work = [&](int t) {
      for (std::size_t i = t; i < shortlist.size(); i += threads) {
        scores[i] = calibration.CalibratedScore(MatchPrepared(query[q], fingers_[shortlist[i]]));
      }
    };
    if (threads == 1) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
      for (std::thread& thread : pool) thread.join();
    }
    for (std::size_t i = 0; i < shortlist.size(); ++i) {
      Fused& f = fused[identities_[shortlist[i]]];
      if (f.best.empty()) f.best.assign(query.size(), 0.0);
      f.best[q] = std::max(f.best[q], scores[i]);
      if (scores[i] > f.best_single) {
        f.best_single = scores[i];
        f.best_finger = shortlist[i];
      }
    }
  }
  s.penetration =
      s.eligible_fingers ? static_cast<double>(s.full_comparisons) / s.eligible_fingers : 0.0;
  std::vector<IdentityCandidate> candidates;
  candidates.reserve(fused.size());
  for (const auto& [identity, f] : fused) {
    IdentityCandidate c;
    c.identity = identity;
    for (double b : f.best) c.score += b;
    c.best_finger = f.best_finger;
    c.best_position = fingers_[f.best_finger].position;
    candidates.push_back(c);
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.score != b.score ? a.score > b.score : a.identity < b.identity;
  });
  if (candidates.size() > options.max_candidates) candidates.resize(options.max_candidates);
  return candidates;
}

}  // namespace abis::finger
