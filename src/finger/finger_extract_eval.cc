// finger_extract_eval: measures the fingerprint extractor on the FVC
// development set (not a test; run on demand, see
// docs/fingerprint-extraction.md):
//   finger_extract_eval <data>                      FVC table (below)
//   finger_extract_eval <data> --degrade            quality: original vs blurred/noised/cropped
//   finger_extract_eval <data> --contactless [k]    SIMULATED contactless, k impressions per finger
//   finger_extract_eval <data> --dump <folder/n>    features of one image as JSON
//   finger_extract_eval <data> --overlay <folder/n> <out.png> [x,y,w,h]
//       debug picture (FX_RAW=1: no skeleton, FX_ENH=1: Gabor output)
// <data> is ../shared/data.
// Per database: median extraction time, minutiae counts, quality scores and
// the fraction of the shipped ISO templates' minutiae we pair with (12 px,
// 30 degrees), plus the same with positions only (a check of our angles).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "finger/contactless.h"
#include "finger/contactless_simulation.h"
#include "finger/fingerprint_extractor.h"
#include "finger/fvc_test_support.h"

namespace fs = std::filesystem;
using abis::finger::FingerFeatures;
using abis::finger::FingerprintExtractor;
using abis::finger::Minutia;

namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void PrintFeatures(const FingerFeatures& f) {
  std::printf("{\"width\":%d,\"height\":%d,\"quality\":%d,\"ridge_period\":%.2f,\"minutiae\":[",
              f.width, f.height, f.quality, f.ridge_period);
  for (size_t i = 0; i < f.minutiae.size(); ++i) {
    const Minutia& m = f.minutiae[i];
    std::printf("%s{\"x\":%d,\"y\":%d,\"angle_deg\":%.1f,\"type\":%d,\"quality\":%d}", i ? "," : "",
                m.x, m.y, m.angle * 180 / std::numbers::pi, int(m.type), m.quality);
  }
  std::printf("],\"singular_points\":[");
  for (size_t i = 0; i < f.singular_points.size(); ++i) {
    const auto& s = f.singular_points[i];
    std::printf("%s{\"type\":%d,\"x\":%d,\"y\":%d,\"angle_deg\":%.1f}", i ? "," : "", int(s.type),
                s.x, s.y, s.angle * 180 / std::numbers::pi);
  }
  std::printf("]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <shared/data dir> [--dump <folder/n>]\n", argv[0]);
    return 2;
  }
  const fs::path data = argv[1];
  const FingerprintExtractor extractor;
  if (argc >= 5 && std::string(argv[2]) == "--overlay") {
    // Debug picture: skeleton (grey), mask edge, ours (red), ISO template (green).
    const std::string item = argv[3];
    const std::string folder = item.substr(0, item.find('/'));
    const cv::Mat img =
        cv::imread((data / "fingerprints" / (item + ".png")).string(), cv::IMREAD_GRAYSCALE);
    const double ppi = abis::finger::fvc::ResolutionFor(folder).value_or(500);
    abis::finger::ExtractionMaps maps;
    auto f = extractor.ExtractWithMaps(img, ppi, abis::finger::CaptureType::kContact,
                                       abis::finger::FingerPosition::kUnknown, &maps);
    if (!f.ok()) return 1;
    cv::Mat canvas;
    cv::cvtColor(maps.image, canvas, cv::COLOR_GRAY2BGR);
    if (std::getenv("FX_ENH")) {
      cv::Mat e8;
      cv::normalize(maps.enhanced, e8, 0, 255, cv::NORM_MINMAX, CV_8U);
      cv::cvtColor(e8, canvas, cv::COLOR_GRAY2BGR);
    }
    const bool raw = std::getenv("FX_RAW") != nullptr;
    if (!raw) {
      canvas = canvas * 0.6;
      canvas.setTo(cv::Scalar(255, 200, 0), maps.skeleton);
    }
    cv::Mat edge;
    cv::morphologyEx(maps.mask, edge, cv::MORPH_GRADIENT, cv::Mat());
    canvas.setTo(cv::Scalar(0, 255, 255), edge);
    auto draw = [&](const std::vector<Minutia>& ms, cv::Scalar colour) {
      for (const Minutia& m : ms) {
        cv::Point p(m.x, m.y);
        cv::circle(canvas, p, 4, colour, 1);
        cv::line(canvas, p,
                 p + cv::Point(int(12 * std::cos(m.angle)), int(-12 * std::sin(m.angle))), colour,
                 1);
      }
    };
    std::ifstream in(data / "fingerprint_templates" / (item + ".iso"), std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    if (const auto record = abis::finger::fvc::ParseIsoMinimal(bytes)) {
      draw(abis::finger::fvc::MapIsoToImage500(*record, img.cols, img.rows, ppi),
           cv::Scalar(0, 255, 0));
    }
    draw(f->minutiae, cv::Scalar(0, 0, 255));
    double zoom = 2;
    if (argc >= 6) {  // optional crop "x,y,w,h" in 500 ppi pixels, drawn 4x
      int x, y, w, h;
      if (std::sscanf(argv[5], "%d,%d,%d,%d", &x, &y, &w, &h) == 4) {
        canvas = canvas(cv::Rect(x, y, w, h) & cv::Rect(0, 0, canvas.cols, canvas.rows)).clone();
        zoom = 4;
      }
    }
    cv::resize(canvas, canvas, cv::Size(), zoom, zoom, cv::INTER_NEAREST);
    cv::imwrite(argv[4], canvas);
    return 0;
  }
  if (argc >= 3 && std::string(argv[2]) == "--contactless") {
    // SIMULATED contactless photos from each print (seeded by its index):
    // scale recovery and the share of the contact minutiae found again.
    const abis::finger::ContactlessPreprocessor pre;
    std::map<std::string, std::vector<double>> paired, scale_error, ms, true_scale;
    int failures = 0, index = 0;
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(data / "fingerprints")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    const int per_finger = argc >= 4 ? std::atoi(argv[3]) : 8;
    for (const fs::path& dir : dirs) {
      const std::string name = dir.filename().string();
      const auto ppi = abis::finger::fvc::ResolutionFor(name);
      if (!ppi) continue;
      for (int n = 1; n <= per_finger; ++n, ++index) {
        cv::Mat img =
            cv::imread((dir / (std::to_string(n) + ".png")).string(), cv::IMREAD_GRAYSCALE);
        if (img.empty()) continue;
        if (*ppi != 500) cv::resize(img, img, cv::Size(), 500 / *ppi, 500 / *ppi, cv::INTER_AREA);
        auto contact = extractor.Extract(img, 500);
        auto photo = abis::finger::SimulateContactlessPhoto(img, 1000 + index);
        if (!contact.ok() || !photo.ok()) {
          ++failures;
          continue;
        }
        const auto start = std::chrono::steady_clock::now();
        auto prepared = pre.Preprocess(photo->bgr);
        if (!prepared.ok()) {
          ++failures;
          continue;
        }
        auto features =
            extractor.Extract(prepared->gray, 500, abis::finger::CaptureType::kContactless);
        ms[name.substr(0, 11)].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
        if (!features.ok()) {
          ++failures;
          continue;
        }
        const cv::Mat m = prepared->photo_to_output * photo->contact_to_photo;
        std::vector<Minutia> mapped;
        for (Minutia c : contact->minutiae) {
          auto apply = [&](double x, double y) {
            const double w = m.at<double>(2, 0) * x + m.at<double>(2, 1) * y + m.at<double>(2, 2);
            return cv::Point2d(
                (m.at<double>(0, 0) * x + m.at<double>(0, 1) * y + m.at<double>(0, 2)) / w,
                (m.at<double>(1, 0) * x + m.at<double>(1, 1) * y + m.at<double>(1, 2)) / w);
          };
          const cv::Point2d p = apply(c.x, c.y);
          const cv::Point2d q = apply(c.x + 10 * std::cos(c.angle), c.y - 10 * std::sin(c.angle));
          c.x = static_cast<int>(std::lround(p.x));
          c.y = static_cast<int>(std::lround(p.y));
          double a = std::atan2(-(q.y - p.y), q.x - p.x);
          if (a < 0) a += 2 * M_PI;
          c.angle = static_cast<float>(a);
          mapped.push_back(c);
        }
        paired[name.substr(0, 11)].push_back(
            abis::finger::fvc::PairedFraction(mapped, features->minutiae, 12, M_PI / 6));
        // Residual of the period measurement: the output should have the
        // target period, i.e. be at 9 / (contact period) of the contact scale.
        scale_error[name.substr(0, 11)].push_back(
            std::abs(prepared->scale * photo->scale * contact->ridge_period / 9.0 - 1));
        true_scale[name.substr(0, 11)].push_back(prepared->scale * photo->scale);
      }
    }
    std::printf(
        "SIMULATED contactless: db n paired_with_contact period_error_median "
        "output_vs_contact_scale_median ms_median\n");
    double all = 0;
    size_t count = 0;
    for (auto& [db, v] : paired) {
      double sum = 0;
      for (double x : v) sum += x;
      all += sum;
      count += v.size();
      std::printf("%s %zu %.3f %.3f %.3f %.0f\n", db.c_str(), v.size(), sum / v.size(),
                  Median(scale_error[db]), Median(true_scale[db]), Median(ms[db]));
    }
    std::printf("all %zu paired %.3f failures %d\n", count, count ? all / count : 0.0, failures);
    return 0;
  }
  if (argc >= 3 && std::string(argv[2]) == "--degrade") {
    // Quality of each first impression and of blurred, noised and cropped copies.
    int orig_wins = 0, total = 0;
    for (const auto& e : fs::directory_iterator(data / "fingerprints")) {
      const std::string name = e.path().filename().string();
      const auto ppi = abis::finger::fvc::ResolutionFor(name);
      const cv::Mat img = cv::imread((e.path() / "1.png").string(), cv::IMREAD_GRAYSCALE);
      if (!ppi || img.empty()) continue;
      cv::Mat blurred, noised, cropped;
      cv::GaussianBlur(img, blurred, cv::Size(), 3.0);
      cv::Mat noise(img.size(), CV_16S);
      cv::randn(noise, 0, 60);
      cv::Mat img16;
      img.convertTo(img16, CV_16S);
      cv::Mat(img16 + noise).convertTo(noised, CV_8U);
      cropped =
          img(cv::Rect(img.cols * 3 / 8, img.rows * 3 / 8, img.cols / 3, img.rows / 3)).clone();
      int q[4];
      const cv::Mat* v[4] = {&img, &blurred, &noised, &cropped};
      for (int i = 0; i < 4; ++i) {
        abis::finger::ExtractionMaps maps;
        auto f = extractor.ExtractWithMaps(*v[i], *ppi, abis::finger::CaptureType::kContact,
                                           abis::finger::FingerPosition::kUnknown, &maps);
        q[i] = f.ok() ? f->quality : -1;
        const auto& b = maps.quality;
        if (std::getenv("FX_QUALITY_TERMS"))
          std::printf("   %d coh %.2f cla %.2f con %.2f per %.2f area %.2f min %.2f\n", i,
                      b.coherence, b.clarity, b.contrast, b.period, b.area, b.minutiae);
      }
      std::printf("%s orig %d blur %d noise %d crop %d\n", name.c_str(), q[0], q[1], q[2], q[3]);
      for (int i = 1; i < 4; ++i) orig_wins += q[0] > q[i];
      total += 3;
    }
    std::printf("original scored higher in %d of %d\n", orig_wins, total);
    return 0;
  }
  if (argc >= 4 && std::string(argv[2]) == "--dump") {
    const std::string item = argv[3];
    const std::string folder = item.substr(0, item.find('/'));
    const cv::Mat img =
        cv::imread((data / "fingerprints" / (item + ".png")).string(), cv::IMREAD_GRAYSCALE);
    const auto ppi = abis::finger::fvc::ResolutionFor(folder);
    auto f = extractor.Extract(img, ppi.value_or(0));
    if (!f.ok()) {
      std::fprintf(stderr, "%s\n", f.status().ToString().c_str());
      return 1;
    }
    PrintFeatures(*f);
    return 0;
  }
  struct Stats {
    std::vector<double> ms, cpu_ms, count, quality, paired, paired_position;
  };
  std::map<std::string, Stats> per_db;
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(data / "fingerprints")) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    const std::string name = folder.filename().string();
    const auto ppi = abis::finger::fvc::ResolutionFor(name);
    if (!ppi) continue;
    const std::string db = name.substr(0, 11);
    for (int n = 1; n <= 8; ++n) {
      const fs::path png = folder / (std::to_string(n) + ".png");
      const cv::Mat img = cv::imread(png.string(), cv::IMREAD_GRAYSCALE);
      if (img.empty()) continue;
      const auto start = std::chrono::steady_clock::now();
      const std::clock_t cpu_start = std::clock();
      auto f = extractor.Extract(img, *ppi);
      const double cpu_ms = 1000.0 * (std::clock() - cpu_start) / CLOCKS_PER_SEC;
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      if (!f.ok()) {
        std::fprintf(stderr, "%s: %s\n", png.c_str(), f.status().ToString().c_str());
        continue;
      }
      Stats& s = per_db[db];
      s.ms.push_back(ms);
      s.cpu_ms.push_back(cpu_ms);
      s.count.push_back(f->minutiae.size());
      s.quality.push_back(f->quality);
      std::ifstream in(data / "fingerprint_templates" / name / (std::to_string(n) + ".iso"),
                       std::ios::binary);
      std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
      const auto record = abis::finger::fvc::ParseIsoMinimal(bytes);
      if (record) {
        const auto ref = abis::finger::fvc::MapIsoToImage500(*record, img.cols, img.rows, *ppi);
        s.paired.push_back(abis::finger::fvc::PairedFraction(ref, f->minutiae, 12, M_PI / 6));
        s.paired_position.push_back(abis::finger::fvc::PairedFraction(ref, f->minutiae, 12, M_PI));
      }
    }
  }
  std::printf(
      "db           n  ms_med  cpu_ms_med  minutiae(min/med/max)  quality(min/med/max)  "
      "paired(mean)  paired_pos_only\n");
  Stats all;
  for (auto& [db, s] : per_db) {
    auto mean = [](const std::vector<double>& v) {
      double t = 0;
      for (double x : v) t += x;
      return v.empty() ? 0 : t / v.size();
    };
    std::printf(
        "%s %3zu %7.1f  %7.1f     %4.0f/%4.0f/%4.0f         %4.0f/%4.0f/%4.0f        %.3f         "
        "%.3f\n",
        db.c_str(), s.ms.size(), Median(s.ms), Median(s.cpu_ms),
        *std::min_element(s.count.begin(), s.count.end()), Median(s.count),
        *std::max_element(s.count.begin(), s.count.end()),
        *std::min_element(s.quality.begin(), s.quality.end()), Median(s.quality),
        *std::max_element(s.quality.begin(), s.quality.end()), mean(s.paired),
        mean(s.paired_position));
    all.cpu_ms.insert(all.cpu_ms.end(), s.cpu_ms.begin(), s.cpu_ms.end());
    for (auto* v : {&s.ms, &s.count, &s.quality, &s.paired, &s.paired_position}) {
      auto* dst = v == &s.ms        ? &all.ms
                  : v == &s.count   ? &all.count
                  : v == &s.quality ? &all.quality
                  : v == &s.paired  ? &all.paired
                                    : &all.paired_position;
      dst->insert(dst->end(), v->begin(), v->end());
    }
  }
  double paired = 0;
  for (double p : all.paired) paired += p;
  std::printf(
      "all         %3zu %7.1f  cpu %.1f  median minutiae %.0f  median quality %.0f  paired %.3f\n",
      all.ms.size(), Median(all.ms), Median(all.cpu_ms), Median(all.count), Median(all.quality),
      all.paired.empty() ? 0 : paired / all.paired.size());
  return 0;
}
