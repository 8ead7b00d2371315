// Per-stage cost of the face pipeline on real photos: decode, detect,
// landmarks, align, embed, the whole pipeline per photo, and memory: each
// benchmark resets the process's peak-RSS mark first (Linux clear_refs "5"),
// so `peak_rss_mib` is the peak while that benchmark ran and
// `added_peak_mib` is how far it rose above the resident set at its start
// (models already loaded): the memory the photo itself needs.
//   build/bench/face_pipeline_benchmark [--benchmark_format=json]
//   build/bench/face_pipeline_benchmark --memory-per-photo
// Photos: the face-api package's sample6.jpg (1920 px, 4 faces) and, when
// ../shared/data is present, a 320x243 Yale photo and a 92x112 AT&T photo.
// Run with OPENBLAS_NUM_THREADS=1 (the deployment setting).

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

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

// VmRSS or VmHWM of this process from /proc/self/status, in MiB.
double StatusMiB(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  }
  return 0;
}

// Resets the peak mark on construction; writes the counters on Report().
class PeakMemory {
 public:
  PeakMemory() {
    std::ofstream("/proc/self/clear_refs") << "5";
    start_mib_ = StatusMiB("VmRSS");
  }
  void Report(benchmark::State& state) const {
    double peak = StatusMiB("VmHWM");
    state.counters["peak_rss_mib"] = peak;
    state.counters["added_peak_mib"] = peak - start_mib_;
  }

 private:
  double start_mib_ = 0;
};

void BM_Decode(benchmark::State& state, const Photo& photo) {
  auto bytes = ReadFileBytes(photo.path);
  if (!bytes.ok()) return state.SkipWithError("photo missing");
  PeakMemory memory;
  for (auto _ : state) {
    auto decoded = imaging::DecodeImage(*bytes);
    benchmark::DoNotOptimize(decoded);
  }
  memory.Report(state);
}

// Detection, landmarks and alignment in one call; the stage split is
// reported as counters (milliseconds per call, all faces).
void BM_Analyze(benchmark::State& state, const Photo& photo) {
  auto bytes = ReadFileBytes(photo.path);
  if (!bytes.ok() || Analyzer() == nullptr) return state.SkipWithError("photo or model missing");
  auto decoded = imaging::DecodeImage(*bytes);
  face::AnalysisTimings total;
  std::size_t faces = 0;
  PeakMemory memory;
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
  memory.Report(state);
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
  PeakMemory memory;
  for (auto _ : state) {
    auto descriptors = Embedder()->Embed(chips);
    benchmark::DoNotOptimize(descriptors);
  }
  memory.Report(state);
}

// The whole pipeline for one photo, as a search runs it: decode, detect,
// landmarks, align, embed every face found. Returns the number of faces, or
// -1 when a stage failed.
int RunPipeline(const std::vector<std::uint8_t>& bytes) {
  auto decoded = imaging::DecodeImage(bytes);
  if (!decoded.ok()) return -1;
  auto analysed = Analyzer()->Analyze(decoded->bgr);
  if (!analysed.ok()) return -1;
  std::vector<dlib::matrix<dlib::rgb_pixel>> chips;
  for (const auto& face : *analysed) chips.push_back(face.chip);
  auto descriptors = Embedder()->Embed(chips);
  benchmark::DoNotOptimize(descriptors);
  return static_cast<int>(chips.size());
}

void BM_Pipeline(benchmark::State& state, const Photo& photo) {
  auto bytes = ReadFileBytes(photo.path);
  if (!bytes.ok() || Analyzer() == nullptr || Embedder() == nullptr) {
    return state.SkipWithError("photo or model missing");
  }
  int faces = 0;
  PeakMemory memory;
  for (auto _ : state) {
    faces = RunPipeline(*bytes);
    if (faces < 0) return state.SkipWithError("pipeline failed");
  }
  state.counters["faces"] = faces;
  memory.Report(state);
}

// --memory-per-photo: the benchmarks above share one heap, and glibc keeps
// freed pages, so after the largest photo the smaller ones show no rise.
// Here each photo runs once in its own child, forked after the models are
// loaded and before any photo was processed: the child's peak RSS above the
// models-loaded baseline is what that one photo needs.
int MemoryPerPhoto() {
  if (Analyzer() == nullptr || Embedder() == nullptr) {
    std::fprintf(stderr, "face models missing\n");
    return 1;
  }
  std::printf("models loaded: %.1f MiB resident\n", StatusMiB("VmRSS"));
  std::printf("%-16s %6s %14s %15s\n", "photo", "faces", "peak_rss_mib", "added_peak_mib");
  for (const Photo& photo : Photos()) {
    auto bytes = ReadFileBytes(photo.path);
    if (!bytes.ok()) continue;
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
      close(fds[0]);
      std::ofstream("/proc/self/clear_refs") << "5";
      double start = StatusMiB("VmRSS");
      double faces = RunPipeline(*bytes);
      double peak = StatusMiB("VmHWM");
      double report[3] = {faces, peak, peak - start};
      bool sent = write(fds[1], report, sizeof(report)) == sizeof(report);
      _exit(sent ? 0 : 1);
    }
    close(fds[1]);
    double report[3] = {};
    bool received = read(fds[0], report, sizeof(report)) == sizeof(report);
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    if (!received || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "%s: child failed\n", photo.name.c_str());
      return 1;
    }
    std::printf("%-16s %6.0f %14.1f %15.1f\n", photo.name.c_str(), report[0], report[1], report[2]);
  }
  return 0;
}

int RegisterAll() {
  for (const Photo& photo : Photos()) {
    benchmark::RegisterBenchmark(("BM_Decode/" + photo.name).c_str(), BM_Decode, photo)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Analyze/" + photo.name).c_str(), BM_Analyze, photo)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Embed/" + photo.name).c_str(), BM_Embed, photo)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Pipeline/" + photo.name).c_str(), BM_Pipeline, photo)
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}

}  // namespace
}  // namespace abis

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--memory-per-photo") return abis::MemoryPerPhoto();
  abis::RegisterAll();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
