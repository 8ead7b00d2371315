#include "face/face_embedder.h"

#include <array>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/file_io.h"
#include "face/test_chips.h"
#include "testing/scratch_dir.h"

namespace abis::face {
namespace {

using ::testing::SizeIs;

const std::string kModelPath = ABIS_MODEL_DIR "/face_recognition_resnet_v1.dat";

// Descriptor of testing::SyntheticChip(0) under the model converted from
// face-api 1.7.15 (sha256 cdb1d47b…266a with dlib 19.24); face-api.js itself
// agrees to 3e-7 when fed dlib's input scaling (face_model_reference_test).
// A wrong tensor mapping, input normalisation or network definition moves it
// far beyond the tolerance; BLAS summation order does not.
constexpr std::array<float, 128> kGoldenDescriptor = {
    -0.0107117444f, 0.0977551863f,  -0.00419237465f, -0.0238616616f,  -0.0581262112f,
    -0.0409822762f, -0.0445466116f, -0.012457937f,   0.11717248f,     -0.00928582996f,
    0.211619198f,   -0.0163361374f, -0.284486055f,   -0.0162850507f,  0.0181081053f,
    0.106437378f,   -0.142094791f,  -0.0420375764f,  -0.211222336f,   -0.100915f,
    0.026309127f,   0.0512821078f,  0.0167281479f,   0.00873667002f,  -0.109672353f,
    -0.259557843f,  -0.0850067288f, -0.0848551318f,  0.108407825f,    -0.170715809f,
    0.0436328128f,  0.0491717756f,  -0.140196115f,   -0.046512533f,   0.0375496261f,
    -0.0133819431f, -0.0010173656f, -0.0946689919f,  0.189940631f,    0.0124270814f,
    -0.197030514f,  -0.0633066148f, 0.0107480511f,   0.254541963f,    0.177670792f,
    0.0194250047f,  0.0309881866f,  -0.0824711248f,  0.0384447649f,   -0.248792276f,
    0.0572519079f,  0.146855205f,   0.0810133517f,   0.123754062f,    0.048143927f,
    -0.184081048f,  0.0312051848f,  0.105477452f,    -0.157505304f,   -0.00284202769f,
    0.0585656166f,  -0.0757315755f, -0.057269007f,   -0.0737554878f,  0.172558486f,
    0.0575002208f,  -0.103357002f,  -0.181044921f,   0.132187322f,    -0.165893257f,
    -0.0403217748f, 0.106769376f,   -0.0893488973f,  -0.175839841f,   -0.280741602f,
    0.0831965357f,  0.362084776f,   0.16043514f,     -0.189085573f,   0.0320141092f,
    -0.0826908201f, -0.0631156191f, 0.0377918705f,   0.0485234857f,   -0.103163406f,
    0.0193291046f,  -0.0488893203f, 0.0728363618f,   0.196556792f,    -0.102906033f,
    0.00208544731f, 0.194631279f,   -0.00498728827f, -0.00875553861f, 0.0189742185f,
    0.0279587507f,  -0.0753940344f, 0.021743767f,    -0.0737838894f,  0.0245956257f,
    0.137095854f,   -0.104149371f,  0.0294633061f,   0.0989765972f,   -0.149004683f,
    0.162278846f,   0.0283613242f,  -0.0736467913f,  0.0313834399f,   0.000465251505f,
    -0.0966314003f, -0.0815173686f, 0.230372369f,    -0.233883142f,   0.214645922f,
    0.214594424f,   0.0589573309f,  0.113653377f,    0.0692834109f,   0.151407778f,
    0.006549716f,   -0.0118687823f, -0.141969219f,   -0.047124166f,   0.0683172941f,
    -0.0104485452f, -0.0411563069f, -0.0165270604f,
};

double Norm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += double{x} * x;
  return std::sqrt(sum);
}

float MaxAbsDifference(const std::vector<float>& a, const std::vector<float>& b) {
  float max = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    max = std::max(max, std::fabs(a[i] - b[i]));
  return max;
}

// Loads the model once for the suite (about 0.2 s); tests run sequentially,
// so sharing the non-thread-safe embedder is fine.
class FaceEmbedderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kModelPath)) return;
    Result<std::unique_ptr<FaceEmbedder>> loaded = FaceEmbedder::Load(kModelPath);
    if (loaded.ok()) shared_embedder_ = std::move(loaded).value();
    load_status_ = loaded.status();
  }
  static void TearDownTestSuite() { shared_embedder_.reset(); }

  void SetUp() override {
    if (!std::filesystem::exists(kModelPath)) {
      GTEST_SKIP() << kModelPath << " missing; run abis_convert_face_model (see tools/)";
    }
    ASSERT_TRUE(load_status_.ok()) << load_status_.ToString();
    embedder_ = shared_embedder_.get();
  }

  static inline std::unique_ptr<FaceEmbedder> shared_embedder_;
  static inline Status load_status_;
  FaceEmbedder* embedder_ = nullptr;
};

TEST_F(FaceEmbedderTest, DescribesChipWithDeterministicRawDescriptor) {
  std::vector<dlib::matrix<dlib::rgb_pixel>> chips = {testing::SyntheticChip(0)};
  Result<std::vector<std::vector<float>>> first = embedder_->Embed(chips);
  Result<std::vector<std::vector<float>>> second = embedder_->Embed(chips);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_THAT(*first, SizeIs(1));
  ASSERT_THAT((*first)[0], SizeIs(FaceEmbedder::kDescriptorSize));
  EXPECT_EQ((*first)[0], (*second)[0]);
  // Not L2-normalised: dlib's descriptors have norm around 1.4-1.5.
  EXPECT_GT(Norm((*first)[0]), 1.2);
  EXPECT_LT(Norm((*first)[0]), 1.7);
}

TEST_F(FaceEmbedderTest, MatchesGoldenDescriptor) {
  Result<std::vector<std::vector<float>>> descriptors =
      embedder_->Embed({testing::SyntheticChip(0)});
  ASSERT_TRUE(descriptors.ok()) << descriptors.status().ToString();
  const std::vector<float>& descriptor = (*descriptors)[0];
  ASSERT_THAT(descriptor, SizeIs(kGoldenDescriptor.size()));
  for (std::size_t i = 0; i < descriptor.size(); ++i) {
    EXPECT_NEAR(descriptor[i], kGoldenDescriptor[i], 1e-4) << "component " << i;
  }
}

TEST_F(FaceEmbedderTest, BatchGivesSameDescriptorsAsSingleChips) {
  std::vector<dlib::matrix<dlib::rgb_pixel>> chips;
  for (int variant = 0; variant < 3; ++variant) chips.push_back(testing::SyntheticChip(variant));
  Result<std::vector<std::vector<float>>> batch = embedder_->Embed(chips);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_THAT(*batch, SizeIs(3));
  for (std::size_t i = 0; i < chips.size(); ++i) {
    Result<std::vector<std::vector<float>>> single = embedder_->Embed({chips[i]});
    ASSERT_TRUE(single.ok());
    EXPECT_LT(MaxAbsDifference((*batch)[i], (*single)[0]), 1e-5) << "chip " << i;
  }
  EXPECT_GT(MaxAbsDifference((*batch)[0], (*batch)[1]), 1e-2);
}

TEST_F(FaceEmbedderTest, EmptyInputGivesNoDescriptors) {
  Result<std::vector<std::vector<float>>> descriptors = embedder_->Embed({});
  ASSERT_TRUE(descriptors.ok());
  EXPECT_THAT(*descriptors, SizeIs(0));
}

TEST_F(FaceEmbedderTest, RejectsChipOfWrongSize) {
  dlib::matrix<dlib::rgb_pixel> small(112, 112);
  small = dlib::rgb_pixel(100, 100, 100);
  Result<std::vector<std::vector<float>>> descriptors =
      embedder_->Embed({testing::SyntheticChip(0), small});
  ASSERT_FALSE(descriptors.ok());
  EXPECT_EQ(descriptors.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(FaceEmbedderTest, ModelDigestIsSha256OfFile) {
  EXPECT_THAT(embedder_->model_digest(), SizeIs(64));
  EXPECT_EQ(embedder_->model_digest().find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(FaceEmbedderLoadTest, MissingFileIsNotFound) {
  Result<std::unique_ptr<FaceEmbedder>> embedder =
      FaceEmbedder::Load(abis::testing::ScratchDir("embedder").File("no_such_model.dat"));
  ASSERT_FALSE(embedder.ok());
  EXPECT_EQ(embedder.status().code(), StatusCode::kNotFound);
}

TEST(FaceEmbedderLoadTest, OtherFileIsDataLoss) {
  abis::testing::ScratchDir scratch("embedder");
  std::string path = scratch.File("not_a_model.dat");
  ASSERT_TRUE(WriteFileAtomically(path, "definitely not a dlib network").ok());
  Result<std::unique_ptr<FaceEmbedder>> embedder = FaceEmbedder::Load(path);
  ASSERT_FALSE(embedder.ok());
  EXPECT_EQ(embedder.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace abis::face
