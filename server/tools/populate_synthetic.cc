// abis_populate_synthetic: fills a gallery of a server data folder with
// synthetic face templates for load runs (scripts/load_test.sh). A
// development tool, never a route: the templates carry the header (algorithm,
// model digest, version) of a real template extracted from --photo, so the
// server searches them exactly like enrolled ones; their features are random
// 128-d vectors scaled to that template's norm.
//   abis_populate_synthetic --data DIR --gallery NAME --count N --photo F
//                           [--models DIR] [--seed S]
// Run it while the server is stopped (the store has one writer).

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "abis/engine.h"

#include "store/master_key.h"
#include "store/sqlite_store.h"

namespace {

int Fail(const std::string& what, const abis::Status& status) {
  std::cerr << "abis_populate_synthetic: " << what << ": " << status.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, gallery = "load", photo, models;
  long count = 100000;
  unsigned seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--data")
      data_dir = value;
    else if (flag == "--gallery")
      gallery = value;
    else if (flag == "--count")
      count = std::atol(value.c_str());
    else if (flag == "--photo")
      photo = value;
    else if (flag == "--models")
      models = value;
    else if (flag == "--seed")
      seed = static_cast<unsigned>(std::atol(value.c_str()));
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (data_dir.empty() || photo.empty() || count <= 0) {
    std::cerr << "usage: abis_populate_synthetic --data DIR --gallery NAME --count N --photo F "
                 "[--models DIR] [--seed S]\n";
    return 2;
  }
  const std::string database = data_dir + "/abis.db";
  abis::Template reference;
  {
    abis::EngineOptions options;
    options.database_path = database;
    options.model_dir = models;
    auto engine = abis::Engine::Open(options);
    if (!engine.ok()) return Fail("open engine", engine.status());
    std::ifstream in(photo, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    auto extracted = (*engine)->ExtractFace(bytes, 0, /*enrolment_gate=*/false);
    if (!extracted.ok()) return Fail("extract " + photo, extracted.status());
    reference = extracted->face_template;
  }
  double norm = 0;
  for (float f : reference.features) norm += double(f) * f;
  norm = std::sqrt(norm);

  auto key = abis::ResolveMasterKey(database, {});
  if (!key.ok()) return Fail("master key", key.status());
  auto store = abis::SqliteStore::Open(database, std::move(key->key));
  if (!store.ok()) return Fail("open store", store.status());
  auto created = (*store)->CreateGallery(gallery);
  if (!created.ok() && created.status().code() != abis::StatusCode::kAlreadyExists) {
    return Fail("create gallery", created.status());
  }
  std::mt19937_64 random(seed);
  std::normal_distribution<float> gaussian(0.0f, 1.0f);
  const long kBatch = 2000;
  for (long done = 0; done < count;) {
    std::vector<abis::NewReference> batch;
    for (long i = 0; i < kBatch && done + i < count; ++i) {
      abis::NewReference item;
      item.identity_external_id =
          "synthetic-" + std::to_string(seed) + "-" + std::to_string(done + i);
      item.tmpl = reference;
      double sum = 0;
      for (float& f : item.tmpl.features) {
        f = gaussian(random);
        sum += double(f) * f;
      }
      float scale = static_cast<float>(norm / std::sqrt(sum));
      for (float& f : item.tmpl.features) f *= scale;
      item.source_sha256 = std::string(64, '0');
      batch.push_back(std::move(item));
    }
    auto added = (*store)->AddReferences(gallery, batch);
    if (!added.ok()) return Fail("add references", added.status());
    done += static_cast<long>(batch.size());
    std::fprintf(stderr, "\r%ld / %ld", done, count);
  }
  std::fprintf(stderr, "\nabis_populate_synthetic: %ld synthetic references in gallery %s\n", count,
               gallery.c_str());
  return 0;
}
