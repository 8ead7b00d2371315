// rate_limiter.h
//
// Per-principal token bucket: each principal may make `per_minute`
// requests a minute, in bursts of up to `per_minute` requests.
//
// Thread safety: Allow() may run concurrently.

#ifndef ABIS_SERVER_RATE_LIMITER_H_
#define ABIS_SERVER_RATE_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace abis::server {

class RateLimiter {
 public:
  explicit RateLimiter(double per_minute) : per_minute_(per_minute) {}

  // True when `principal_id` may make one more request now; otherwise
  // false and `retry_after_s` says when the next one will be allowed.
  bool Allow(std::int64_t principal_id, int& retry_after_s);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };
  double per_minute_;
  std::mutex mutex_;
  std::unordered_map<std::int64_t, Bucket> buckets_;
};

}  // namespace abis::server

#endif  // ABIS_SERVER_RATE_LIMITER_H_
