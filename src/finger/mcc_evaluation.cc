#include "finger/mcc_evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numbers>
#include <thread>

#include "finger/iso19794_2.h"

namespace abis::finger {
namespace {

namespace fs = std::filesystem;

struct Sample {
  std::string database;
  std::string finger;
  PreparedFinger prepared;
  std::size_t minutiae = 0;
};

bool ReadPngSize(const fs::path& path, int& width, int& height) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[24];
  if (!in.read(reinterpret_cast<char*>(header), sizeof(header))) return false;
  if (header[1] != 'P' || header[2] != 'N' || header[3] != 'G') return false;
  width = (header[16] << 24) | (header[17] << 16) | (header[18] << 8) | header[19];
  height = (header[20] << 24) | (header[21] << 16) | (header[22] << 8) | header[23];
  return width > 0 && height > 0;
}

// Maps coordinates from the declared size to the real image size.
void Restretch(FingerFeatures& features, int width, int height) {
  const double sx = static_cast<double>(width) / features.width;
  const double sy = static_cast<double>(height) / features.height;
  for (Minutia& m : features.minutiae) {
    m.x = std::clamp(static_cast<int>(std::lround(m.x * sx)), 0, width - 1);
    m.y = std::clamp(static_cast<int>(std::lround(m.y * sy)), 0, height - 1);
    const double angle = std::atan2(std::sin(m.angle) * sy, std::cos(m.angle) * sx);
    m.angle = static_cast<float>(angle < 0 ? angle + 2 * std::numbers::pi : angle);
  }
  features.width = width;
  features.height = height;
}

template <typename Work>
void ParallelFor(int threads, std::size_t count, Work work) {
  threads = std::max(1, threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t i = t; i < count; i += threads) work(i);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

}  // namespace

double EqualErrorRate(std::vector<float> genuine, std::vector<float> impostor) {
  if (genuine.empty() || impostor.empty()) return 0.0;
  std::sort(genuine.begin(), genuine.end());
  std::sort(impostor.begin(), impostor.end());
  std::vector<float> thresholds = genuine;
  thresholds.insert(thresholds.end(), impostor.begin(), impostor.end());
  thresholds.push_back(std::nextafter(thresholds.back(), 1e9f));
  std::sort(thresholds.begin(), thresholds.end());
  double best_gap = 2.0, eer = 1.0;
  for (float t : thresholds) {
    const double fnmr =
        static_cast<double>(std::lower_bound(genuine.begin(), genuine.end(), t) - genuine.begin()) /
        genuine.size();
    const double fmr = static_cast<double>(impostor.end() -
                                           std::lower_bound(impostor.begin(), impostor.end(), t)) /
                       impostor.size();
    if (std::fabs(fmr - fnmr) < best_gap) {
      best_gap = std::fabs(fmr - fnmr);
      eer = 0.5 * (fmr + fnmr);
    }
  }
  return eer;
}

double FnmrAtFmr(std::vector<float> genuine, std::vector<float> impostor, double fmr) {
  if (genuine.empty() || impostor.empty()) return 1.0;
  std::sort(impostor.begin(), impostor.end(), std::greater<>());
  // Allowed impostors at or above the threshold.
  const auto allowed = static_cast<std::size_t>(std::floor(fmr * impostor.size()));
  const float threshold =
      allowed < impostor.size() ? std::nextafter(impostor[allowed], 1e9f) : impostor.back();
  const auto below =
      std::count_if(genuine.begin(), genuine.end(), [&](float s) { return s < threshold; });
  return static_cast<double>(below) / genuine.size();
}

Result<TemplateEvaluation> EvaluateIsoTemplates(const TemplateEvaluationOptions& options) {
  std::error_code error;
  if (!fs::is_directory(options.template_dir, error)) {
    return NotFoundError("no template folder " + options.template_dir);
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(options.template_dir, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".iso")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return NotFoundError("no .iso templates under " + options.template_dir);

  std::vector<Sample> samples(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::ifstream in(files[i], std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    ABIS_ASSIGN_OR_RETURN(MinutiaeRecord record, DecodeIso19794_2(bytes));
    ABIS_ASSIGN_OR_RETURN(FingerFeatures features, ViewToFeatures(record, 0));
    const std::string finger = files[i].parent_path().filename().string();
    if (!options.image_dir.empty()) {
      int width = 0, height = 0;
      const fs::path png =
          fs::path(options.image_dir) / finger / (files[i].stem().string() + ".png");
      if (ReadPngSize(png, width, height)) Restretch(features, width, height);
    }
    samples[i].finger = finger;
    samples[i].database = finger.substr(0, finger.rfind('_'));
    samples[i].minutiae = features.minutiae.size();
    ABIS_ASSIGN_OR_RETURN(samples[i].prepared, PrepareFinger(features));
  }

  // Score every pair once (symmetrised: the mean of both directions).
  const std::size_t n = samples.size();
  std::vector<float> scores(n * n, 0.0f);
  const auto start = std::chrono::steady_clock::now();
  ParallelFor(options.threads, n, [&](std::size_t i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (!options.pooled_impostors && samples[i].database != samples[j].database) continue;
      scores[i * n + j] = 0.5f * (MatchPrepared(samples[i].prepared, samples[j].prepared) +
                                  MatchPrepared(samples[j].prepared, samples[i].prepared));
    }
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  TemplateEvaluation report;
  std::vector<float> pooled;
  std::size_t compared_pairs = 0;
  std::map<std::string, std::pair<std::vector<float>, std::vector<float>>> per_database;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (!options.pooled_impostors && samples[i].database != samples[j].database) continue;
      ++compared_pairs;
      const float s = scores[i * n + j];
      if (samples[i].finger == samples[j].finger) {
        per_database[samples[i].database].first.push_back(s);
      } else {
        pooled.push_back(s);
        if (samples[i].database == samples[j].database) {
          per_database[samples[i].database].second.push_back(s);
        }
      }
    }
  }
  report.match_microseconds = compared_pairs == 0 ? 0.0
                                                  : seconds * 1e6 * std::max(1, options.threads) /
                                                        (2.0 * static_cast<double>(compared_pairs));
  if (!options.pooled_impostors) pooled.clear();
  report.pooled_impostor_pairs = static_cast<int>(pooled.size());
  if (pooled.size() >= 10) {
    ABIS_ASSIGN_OR_RETURN(report.calibration, ScoreCalibration::FromImpostorScores(pooled));
  }
  {
    std::vector<float> sorted = pooled;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    const auto allowed = static_cast<std::size_t>(std::floor(1e-3 * sorted.size()));
    report.pooled_threshold_fmr_1e3 =
        sorted.empty()
            ? 0.0f
            : (allowed < sorted.size() ? std::nextafter(sorted[allowed], 1e9f) : sorted.back());
  }
  double sum2002 = 0, sum2004 = 0, sum = 0;
  int count2002 = 0, count2004 = 0;
  for (auto& [name, lists] : per_database) {
    DatabaseAccuracy db;
    db.name = name;
    std::map<std::string, int> fingers;
    double minutiae = 0;
    for (const Sample& s : samples) {
      if (s.database != name) continue;
      ++fingers[s.finger];
      ++db.templates;
      minutiae += static_cast<double>(s.minutiae);
    }
    db.fingers = static_cast<int>(fingers.size());
    db.mean_minutiae = db.templates ? minutiae / db.templates : 0.0;
    db.genuine_pairs = static_cast<int>(lists.first.size());
    db.impostor_pairs = static_cast<int>(lists.second.size());
    db.eer = EqualErrorRate(lists.first, lists.second);
    db.fnmr_at_fmr_1e3 = FnmrAtFmr(lists.first, lists.second, 1e-3);
    db.fnmr_at_pooled_fmr_1e3 =
        lists.first.empty() ? 1.0
                            : static_cast<double>(std::count_if(
                                  lists.first.begin(), lists.first.end(),
                                  [&](float s) { return s < report.pooled_threshold_fmr_1e3; })) /
                                  lists.first.size();
    sum += db.eer;
    if (name.rfind("fvc2002", 0) == 0) {
      sum2002 += db.eer;
      ++count2002;
    } else if (name.rfind("fvc2004", 0) == 0) {
      sum2004 += db.eer;
      ++count2004;
    }
    report.databases.push_back(db);
  }
  report.mean_eer = report.databases.empty() ? 0 : sum / report.databases.size();
  report.mean_eer_fvc2002 = count2002 ? sum2002 / count2002 : 0;
  report.mean_eer_fvc2004 = count2004 ? sum2004 / count2004 : 0;
  return report;
}

}  // namespace abis::finger
