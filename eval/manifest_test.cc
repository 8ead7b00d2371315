#include "eval/manifest.h"

#include <gtest/gtest.h>

namespace abis::eval {
namespace {

TEST(ManifestTest, ParsesColumnsInAnyOrderWithQuotedFields) {
  auto manifest = ParseManifest(
      "\xEF\xBB\xBFidentity,path,sex,\"age band\"\r\n"
      "alice,a/1.png,F,\"30-39\"\r\n"
      "\"bob, jr\",\"b/with \"\"quotes\"\".png\",M,\r\n"
      "\n"
      "carol,/abs/c.png,,\"multi\nline\"\n",
      "/data");
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ(manifest->demographic_columns, (std::vector<std::string>{"sex", "age band"}));
  ASSERT_EQ(manifest->rows.size(), 3u);
  EXPECT_EQ(manifest->rows[0].identity, "alice");
  EXPECT_EQ(manifest->rows[0].path, "/data/a/1.png");
  EXPECT_EQ(manifest->rows[0].groups, (std::vector<std::string>{"F", "30-39"}));
  EXPECT_EQ(manifest->rows[1].identity, "bob, jr");
  EXPECT_EQ(manifest->rows[1].listed_path, "b/with \"quotes\".png");
  EXPECT_EQ(manifest->rows[1].groups[1], "");  // Unlabelled.
  EXPECT_EQ(manifest->rows[2].path, "/abs/c.png");
  EXPECT_EQ(manifest->rows[2].groups[1], "multi\nline");
  EXPECT_EQ(manifest->rows[2].line, 5);

  auto sexes = GroupsOfSubjects(*manifest, "sex");
  ASSERT_TRUE(sexes.ok());
  EXPECT_EQ(sexes->size(), 2u);  // carol is unlabelled.
  EXPECT_EQ(sexes->at("bob, jr"), "M");
  EXPECT_FALSE(GroupsOfSubjects(*manifest, "ethnicity").ok());
}

TEST(ManifestTest, WithoutDemographicColumns) {
  auto manifest = ParseManifest("path,identity\nx.png,a\n", "");
  ASSERT_TRUE(manifest.ok());
  EXPECT_TRUE(manifest->demographic_columns.empty());
  EXPECT_EQ(manifest->rows[0].path, "x.png");
}

void ExpectError(std::string_view text, const std::string& fragment) {
  auto manifest = ParseManifest(text, "");
  ASSERT_FALSE(manifest.ok()) << text;
  EXPECT_EQ(manifest.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(manifest.status().message().find(fragment), std::string::npos)
      << manifest.status().message();
}

TEST(ManifestTest, BadInputGivesClearErrors) {
  ExpectError("", "empty");
  ExpectError("path,group\nx.png,a\n", "missing column 'identity'");
  ExpectError("identity,group\na,x\n", "missing column 'path'");
  ExpectError("path,identity,path\nx,a,y\n", "column 'path' repeats");
  ExpectError("path,,identity\nx,,a\n", "column 2 has no name");
  ExpectError("path,identity\nx.png,a\ny.png\n", "line 3: expected 2 fields, found 1");
  ExpectError("path,identity\nx.png,a,extra\n", "line 2: expected 2 fields, found 3");
  ExpectError("path,identity\n,a\n", "line 2: empty path");
  ExpectError("path,identity\nx.png,  \n", "line 2: empty identity");
  ExpectError("path,identity\n\"x.png,a\n", "line 2: unterminated quoted field");
  ExpectError("path,identity\n\"x\"y,a\n", "text after a closing quote");
  ExpectError("path,identity\nx\"y,a\n", "quote inside an unquoted field");
  ExpectError("path,identity\n", "lists no images");
  ExpectError("path,identity,sex\n1.png,a,F\n2.png,a,M\n",
              "line 3: identity 'a' has sex 'M' here but 'F' earlier");
}

TEST(ManifestTest, DemographicsSectionAppearsPerGroupColumn) {
  auto manifest = ParseManifest(
      "path,identity,group\n"
      "a1,a,G1\na2,a,G1\nb1,b,G1\nb2,b,G1\nc1,c,G2\nc2,c,G2\nd1,d,G2\nd2,d,G2\n",
      "");
  ASSERT_TRUE(manifest.ok());
  ScoreSet scores;
  scores.genuine = {0.9, 0.4, 0.8, 0.85};
  scores.genuine_subject = {"a", "b", "c", "d"};
  scores.impostor = {0.6, 0.2, 0.1, 0.3};
  scores.impostor_probe_subject = {"a", "c", "a", "b"};
  scores.impostor_reference_subject = {"b", "d", "c", "a"};
  auto section = DemographicsJson(*manifest, scores, 0.5, "EER threshold");
  ASSERT_TRUE(section.ok()) << section.status().ToString();
  ASSERT_TRUE(section->contains("columns"));
  const nlohmann::json& group = (*section)["columns"]["group"];
  ASSERT_EQ(group["groups"].size(), 2u);
  EXPECT_EQ(group["groups"][0]["group"], "G1");
  EXPECT_DOUBLE_EQ(group["groups"][0]["fnmr"].get<double>(), 0.5);  // b's 0.4 < 0.5.
  EXPECT_DOUBLE_EQ(group["groups"][0]["fmr"].get<double>(), 0.5);   // a-b 0.6 >= 0.5.
  EXPECT_DOUBLE_EQ(group["groups"][1]["fmr"].get<double>(), 0.0);
  EXPECT_EQ(group["cross_group_impostor"], 1);
  EXPECT_EQ((*section)["threshold_source"], "EER threshold");

  auto plain = ParseManifest("path,identity\nx,a\n", "");
  auto empty = DemographicsJson(*plain, scores, 0.5, "EER threshold");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace abis::eval
