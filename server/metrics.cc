#include "server/metrics.h"

#include <sstream>

namespace abis::server {
namespace {

// Label values escape backslash, quote and newline.
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void Metrics::Record(const std::string& method, const std::string& route, int http_status,
                     double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{method, route, http_status}];
  Histogram& histogram = latency_[{method, route}];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++histogram.buckets[i];
  }
  ++histogram.count;
  histogram.sum += seconds;
}

std::string Metrics::Render(const std::vector<GalleryInfo>* galleries) const {
  std::ostringstream out;
  out.precision(9);
  std::lock_guard<std::mutex> lock(mutex_);
  out << "# HELP abis_http_requests_total HTTP requests by route and status.\n"
         "# TYPE abis_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    out << "abis_http_requests_total{method=\"" << Escape(method) << "\",route=\"" << Escape(route)
        << "\",status=\"" << status << "\"} " << count << "\n";
  }
  out << "# HELP abis_http_request_duration_seconds HTTP request latency by route.\n"
         "# TYPE abis_http_request_duration_seconds histogram\n";
  for (const auto& [key, histogram] : latency_) {
    std::string labels =
        "method=\"" + Escape(key.first) + "\",route=\"" + Escape(key.second) + "\"";
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out << "abis_http_request_duration_seconds_bucket{" << labels << ",le=\"" << kBuckets[i]
          << "\"} " << histogram.buckets[i] << "\n";
    }
    out << "abis_http_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} "
        << histogram.count << "\n";
    out << "abis_http_request_duration_seconds_sum{" << labels << "} " << histogram.sum << "\n";
    out << "abis_http_request_duration_seconds_count{" << labels << "} " << histogram.count << "\n";
  }
  if (galleries != nullptr) {
    out << "# HELP abis_gallery_identities Identities enrolled per gallery.\n"
           "# TYPE abis_gallery_identities gauge\n";
    for (const GalleryInfo& g : *galleries) {
      out << "abis_gallery_identities{gallery=\"" << Escape(g.name) << "\"} " << g.identity_count
          << "\n";
    }
    out << "# HELP abis_gallery_references Biometric references per gallery.\n"
           "# TYPE abis_gallery_references gauge\n";
    for (const GalleryInfo& g : *galleries) {
      out << "abis_gallery_references{gallery=\"" << Escape(g.name) << "\"} " << g.reference_count
          << "\n";
    }
  }
  return out.str();
}

}  // namespace abis::server
