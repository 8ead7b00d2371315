// Per-stage cost of the face pipeline on real photos: decode, detect,
// landmarks, align, embed, and the peak resident memory of the process.
//   build/bench/face_pipeline_benchmark [--benchmark_format=json]
// Photos: the face-api package's sample6.jpg (1920 px, 4 faces) and, when
// ../shared/data is present, a 320x243 Yale photo and a 92x112 AT&T photo.
// Run with OPENBLAS_NUM_THREADS=1 (the deployment setting).

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include "core/file_io.h"
#include "face/face_analyzer.h"
#include "face/face_embedder.h"
#include "imaging/image_decoder.h"

namespace abis {
namespace {

struct Photo {
  std::string name;
  std::string path;
};

std::vector<Photo> Photos() {
  std::vector<Photo> photos;
  std::string model_dir = ABIS_MODEL_DIR;
  photos.push_back({"group_1920px", model_dir + "/face-api-1.7.15/demo/sample6.jpg"});
  std::string shared = std::string(ABIS_SOURCE_DIR) + "/../shared/data/faces";
  photos.push_back({"yale_320px", shared + "/yale_subject02/2.png"});
  photos.push_back({"att_92px", shared + "/att_s01/1.png"});
  std::erase_if(photos, [](const Photo& p) { return !std::filesystem::exists(p.path); });
  return photos;
}

face::FaceAnalyzer* Analyzer() {
  static auto analyzer =
      face::FaceAnalyzer::Load("/usr/share/dlib/shape_predictor_68_face_landmarks.dat");
  return analyzer.ok() ? analyzer->get() : nullptr;
}

face::FaceEmbedder* Embedder() {
  static auto embedder =
      face::FaceEmbedder::Load(std::string(ABIS_MODEL_DIR) + "/face_recognition_resnet_v1.dat");
  return embedder.ok() ? embedder->get() : nullptr;
}

double PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

void BM_Decode(benchmark::State& state, const Photo& photo) {
  auto bytes = ReadFileBytes(photo.path);
  if (!bytes.ok()) return state.SkipWithError("photo missing");
  for (auto _ : state) {
    auto decoded = imaging::DecodeImage(*bytes);
    benchmark::DoNotOptimize(decoded);
  }
  state.counters["peak_rss_mib"] = PeakRssMiB();
}

// Detection, landmarks and alignment in one call; the stage split is
// reported as counters (milliseconds per call, all faces).
void BM_Analyze(benchmark::State& state, const Photo& photo) {
  auto bytes = ReadFileBytes(photo.path);
  if (!bytes.ok() || Analyzer() == nullptr) return state.SkipWithError("photo or model missing");
  auto decoded = imaging::DecodeImage(*bytes);
  face::AnalysisTimings total;
  std::size_t faces = 0;
  for (auto _ : state) {
    face::AnalysisTimings timings;
    auto result = Analyzer()->Analyze(decoded->bgr, &timings);
    faces = result.ok() ? result->size() : 0;
    total.detect_ms += timings.detect_ms;
    total.landmarks_ms += timings.landmarks_ms;
    total.align_ms += timings.align_ms;
  }
  double n = static_cast<double>(state.iterations());
  state.counters["faces"] = static_cast<double>(faces);
  state.counters["detect_ms"] = total.detect_ms / n;
  state.counters["landmarks_ms_per_face"] = faces ? total.landmarks_ms / n / faces : 0;
  state.counters["align_ms_per_face"] = faces ? total.align_ms / n / faces : 0;
  state.counters["peak_rss_mib"] = PeakRssMiB();
}

void BM_Embed(benchmark::State& state, const Photo& photo) {
  auto bytes = ReadFileBytes(photo.path);
  if (!bytes.ok() || Analyzer() == nullptr || Embedder() == nullptr) {
    return state.SkipWithError("photo or model missing");
  }
  auto decoded = imaging::DecodeImage(*bytes);
  auto faces = Analyzer()->Analyze(decoded->bgr);
  if (!faces.ok() || faces->empty()) return state.SkipWithError("no face");
  std::vector<dlib::matrix<dlib::rgb_pixel>> chips = {(*faces)[0].chip};
  for (auto _ : state) {
    auto descriptors = Embedder()->Embed(chips);
    benchmark::DoNotOptimize(descriptors);
  }
  state.counters["peak_rss_mib"] = PeakRssMiB();
}

int RegisterAll() {
  for (const Photo& photo : Photos()) {
    benchmark::RegisterBenchmark(("BM_Decode/" + photo.name).c_str(), BM_Decode, photo)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Analyze/" + photo.name).c_str(), BM_Analyze, photo)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Embed/" + photo.name).c_str(), BM_Embed, photo)
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}

}  // namespace
}  // namespace abis

int main(int argc, char** argv) {
  abis::RegisterAll();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
