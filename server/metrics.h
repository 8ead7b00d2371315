// metrics.h
//
// Request counters and latency histograms per route, rendered in the
// Prometheus text exposition format (version 0.0.4) by /metrics.
//
// Thread safety: Record() and Render() may run concurrently.

#ifndef ABIS_SERVER_METRICS_H_
#define ABIS_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "abis/gallery.h"

namespace abis::server {

class Metrics {
 public:
  // `route` is the route template ("/v1/galleries/{name}") or "unmatched".
  void Record(const std::string& method, const std::string& route, int http_status, double seconds);

  // Counters, histograms and, when given, gallery sizes.
  std::string Render(const std::vector<GalleryInfo>* galleries) const;

  static constexpr std::array<double, 11> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1.0,  2.5,   5.0,  10.0};

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
};

}  // namespace abis::server

#endif  // ABIS_SERVER_METRICS_H_
