#include "server/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace abis::server {

bool RateLimiter::Allow(std::int64_t principal_id, int& retry_after_s) {
  retry_after_s = 0;
  if (per_minute_ <= 0) return true;  // Unlimited.
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = buckets_.try_emplace(principal_id, Bucket{per_minute_, now});
  Bucket& bucket = it->second;
  double elapsed_s = std::chrono::duration<double>(now - bucket.refilled).count();
  bucket.tokens = std::min(per_minute_, bucket.tokens + elapsed_s * per_minute_ / 60.0);
  bucket.refilled = now;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return true;
  }
  retry_after_s =
      std::max(1, static_cast<int>(std::ceil((1.0 - bucket.tokens) * 60.0 / per_minute_)));
  return false;
}

}  // namespace abis::server
