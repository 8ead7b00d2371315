#include "finger/minutiae_detection.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include <opencv2/imgproc.hpp>

#include "finger/ridge_analysis.h"

namespace abis::finger {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

// The 8-neighbourhood clockwise on screen, starting north; even = 4-neighbours.
constexpr std::array<int, 8> kDx = {0, 1, 1, 1, 0, -1, -1, -1};
constexpr std::array<int, 8> kDy = {-1, -1, 0, 1, 1, 1, 0, -1};

inline uchar At(const cv::Mat& m, int x, int y) { return m.ptr<uchar>(y)[x]; }

// Number of separate runs of skeleton pixels around (x, y): the crossing number.
int CrossingNumber(const cv::Mat& skel, int x, int y) {
  int transitions = 0;
  for (int i = 0; i < 8; ++i) {
    const int j = (i + 1) % 8;
    if (!At(skel, x + kDx[i], y + kDy[i]) && At(skel, x + kDx[j], y + kDy[j])) ++transitions;
  }
  return transitions;
}

enum class Stop { kLength, kEnding, kBifurcation, kDeadEnd };

struct Trace {
  Stop stop = Stop::kLength;
  cv::Point end;
  int length = 0;
  int end_id = -1;           // minutia index where it stopped
  cv::Point2f direction_at;  // point reached after the direction length
};

struct Candidate {
  cv::Point2f position;
  MinutiaType type;
  cv::Point2f direction;  // unit, image coordinates
  bool keep = true;
  bool reliable = true;
  std::vector<cv::Point> branch_starts;
};

class Tracer {
 public:
  Tracer(const cv::Mat& skel, const cv::Mat& cn, const cv::Mat& owner)
      : skel_(skel), cn_(cn), owner_(owner), stamp_(skel.size(), CV_32S, cv::Scalar(0)) {}

  // Walks the skeleton from `first` (a neighbour of the minutia `self`)
  // up to `max_length` pixels.
  Trace Walk(int self, cv::Point prev, cv::Point first, int max_length, int direction_length,
             const std::vector<cv::Point>& blocked) {
    ++id_;
    for (const cv::Point& b : blocked) stamp_.at<int>(b) = id_;
    stamp_.at<int>(prev) = id_;
    Trace t;
    cv::Point cur = first;
    t.direction_at = cv::Point2f(first);
    for (int step = 1;; ++step) {
      stamp_.at<int>(cur) = id_;
      t.end = cur;
      t.length = step;
      if (step <= direction_length) t.direction_at = cv::Point2f(cur);
      const int who = owner_.at<int>(cur);
      if (who >= 0 && who != self) {
        t.end_id = who;
        t.stop = cn_.at<uchar>(cur) == 1 ? Stop::kEnding : Stop::kBifurcation;
        return t;
      }
      if (step >= max_length) return t;
      // Next pixel: unvisited, preferring one not touching the previous pixel
      // (skips the corners of staircases), then a 4-neighbour.
      int best = -1, best_rank = 99;
      for (int i = 0; i < 8; ++i) {
        const int x = cur.x + kDx[i], y = cur.y + kDy[i];
        if (!At(skel_, x, y) || stamp_.at<int>(y, x) == id_) continue;
        const bool touches_prev = std::abs(x - prev.x) <= 1 && std::abs(y - prev.y) <= 1;
        const int rank = (touches_prev ? 2 : 0) + (i % 2);
        if (rank < best_rank) {
          best_rank = rank;
          best = i;
        }
      }
      if (best < 0) {
        t.stop = Stop::kDeadEnd;
        return t;
      }
      prev = cur;
      cur = cv::Point(cur.x + kDx[best], cur.y + kDy[best]);
    }
  }

 private:
  const cv::Mat& skel_;
  const cv::Mat& cn_;
  const cv::Mat& owner_;
  cv::Mat stamp_;
  int id_ = 0;
};

cv::Point2f Normalized(cv::Point2f v) {
  const float n = std::hypot(v.x, v.y);
  return n > 1e-6f ? v / n : cv::Point2f(0, 0);
}

}  // namespace

cv::Mat ThinRidges(const cv::Mat& ridges) {
  cv::Mat img;
  cv::threshold(ridges, img, 0, 1, cv::THRESH_BINARY);
  img.convertTo(img, CV_8U);
  img.row(0).setTo(0);
  img.row(img.rows - 1).setTo(0);
  img.col(0).setTo(0);
  img.col(img.cols - 1).setTo(0);
  std::vector<cv::Point> to_delete;
  bool changed = true;
  while (changed) {
    changed = false;
    for (int pass = 0; pass < 2; ++pass) {
      to_delete.clear();
      for (int y = 1; y < img.rows - 1; ++y) {
        const uchar* up = img.ptr<uchar>(y - 1);
        const uchar* row = img.ptr<uchar>(y);
        const uchar* down = img.ptr<uchar>(y + 1);
        for (int x = 1; x < img.cols - 1; ++x) {
          if (!row[x]) continue;
          const int p2 = up[x], p3 = up[x + 1], p4 = row[x + 1], p5 = down[x + 1];
          const int p6 = down[x], p7 = down[x - 1], p8 = row[x - 1], p9 = up[x - 1];
          const int b = p2 + p3 + p4 + p5 + p6 + p7 + p8 + p9;
          if (b < 2 || b > 6) continue;
          const int a = (!p2 && p3) + (!p3 && p4) + (!p4 && p5) + (!p5 && p6) + (!p6 && p7) +
                        (!p7 && p8) + (!p8 && p9) + (!p9 && p2);
          if (a != 1) continue;
          if (pass == 0 ? (p2 * p4 * p6 == 0 && p4 * p6 * p8 == 0)
                        : (p2 * p4 * p8 == 0 && p2 * p6 * p8 == 0)) {
            to_delete.emplace_back(x, y);
          }
        }
      }
      for (const cv::Point& p : to_delete) img.at<uchar>(p) = 0;
      changed = changed || !to_delete.empty();
    }
  }
  // Remove staircase corners: a pixel whose two 4-neighbours at a right
  // angle are set, and whose removal keeps the local connectivity.
  for (int y = 1; y < img.rows - 1; ++y) {
    for (int x = 1; x < img.cols - 1; ++x) {
      if (!img.at<uchar>(y, x)) continue;
      const bool n = img.at<uchar>(y - 1, x), s = img.at<uchar>(y + 1, x);
      const bool e = img.at<uchar>(y, x + 1), w = img.at<uchar>(y, x - 1);
      const bool corner = (n && e) || (e && s) || (s && w) || (w && n);
      if (!corner) continue;
      int count = 0;
      for (int i = 0; i < 8; ++i) count += img.at<uchar>(y + kDy[i], x + kDx[i]);
      if (CrossingNumber(img, x, y) == 1 && count == 2) img.at<uchar>(y, x) = 0;
    }
  }
  return img;
}

std::vector<Minutia> DetectMinutiae(const MinutiaeDetectionInput& input) {
  cv::Mat skel = input.skeleton.clone();
  skel.row(0).setTo(0);
  skel.row(skel.rows - 1).setTo(0);
  skel.col(0).setTo(0);
  skel.col(skel.cols - 1).setTo(0);
  const float period = std::clamp(input.ridge_period, 5.0f, 15.0f);
  const int direction_length = static_cast<int>(std::lround(1.3f * period));
  const int spur_length = static_cast<int>(std::lround(1.6f * period));
  const int fragment_length = static_cast<int>(std::lround(2.5f * period));
  const int bridge_length = static_cast<int>(std::lround(1.6f * period));

  cv::Mat cn = cv::Mat::zeros(skel.size(), CV_8U);
  cv::Mat fork_pixels = cv::Mat::zeros(skel.size(), CV_8U);
  for (int y = 1; y < skel.rows - 1; ++y) {
    for (int x = 1; x < skel.cols - 1; ++x) {
      if (!At(skel, x, y)) continue;
      const int c = CrossingNumber(skel, x, y);
      cn.at<uchar>(y, x) = static_cast<uchar>(c);
      if (c >= 3) fork_pixels.at<uchar>(y, x) = 1;
    }
  }

  // Candidates: every ending pixel, and each 8-connected group of fork pixels.
  std::vector<Candidate> cands;
  cv::Mat owner(skel.size(), CV_32S, cv::Scalar(-1));
  for (int y = 1; y < skel.rows - 1; ++y) {
    for (int x = 1; x < skel.cols - 1; ++x) {
      if (cn.at<uchar>(y, x) != 1) continue;
      owner.at<int>(y, x) = static_cast<int>(cands.size());
      Candidate c;
      c.position = cv::Point2f(x, y);
      c.type = MinutiaType::kEnding;
      for (int i = 0; i < 8; ++i) {
        if (At(skel, x + kDx[i], y + kDy[i])) {
          c.branch_starts.emplace_back(x + kDx[i], y + kDy[i]);
          break;
        }
      }
      cands.push_back(c);
    }
  }
  cv::Mat labels;
  const int groups = cv::connectedComponents(fork_pixels, labels, 8, CV_32S);
  std::vector<std::vector<cv::Point>> members(groups);
  for (int y = 0; y < labels.rows; ++y) {
    for (int x = 0; x < labels.cols; ++x) {
      const int l = labels.at<int>(y, x);
      if (l > 0) members[l].emplace_back(x, y);
    }
  }
  std::vector<std::vector<cv::Point>> fork_members;  // per candidate index (forks only)
  fork_members.resize(cands.size());
  for (int l = 1; l < groups; ++l) {
    Candidate c;
    c.type = MinutiaType::kBifurcation;
    cv::Point2f centre(0, 0);
    for (const cv::Point& p : members[l]) centre += cv::Point2f(p);
    c.position = centre / static_cast<float>(members[l].size());
    // Branch starts: skeleton pixels touching the group, grouped when 4-adjacent.
    std::vector<cv::Point> touching;
    for (const cv::Point& p : members[l]) {
      for (int i = 0; i < 8; ++i) {
        const cv::Point q(p.x + kDx[i], p.y + kDy[i]);
        if (!At(skel, q.x, q.y) || labels.at<int>(q) == l) continue;
        if (std::find(touching.begin(), touching.end(), q) == touching.end()) touching.push_back(q);
      }
    }
    std::vector<int> group(touching.size(), -1);
    int n_groups = 0;
    for (size_t i = 0; i < touching.size(); ++i) {
      if (group[i] >= 0) continue;
      group[i] = n_groups;
      std::vector<size_t> stack = {i};
      while (!stack.empty()) {
        const size_t a = stack.back();
        stack.pop_back();
        for (size_t b = 0; b < touching.size(); ++b) {
          // 4-adjacency: two arms of a T touch diagonally.
          if (group[b] < 0 &&
              std::abs(touching[a].x - touching[b].x) + std::abs(touching[a].y - touching[b].y) ==
                  1) {
            group[b] = n_groups;
            stack.push_back(b);
          }
        }
      }
      ++n_groups;
    }
    if (n_groups != 3) continue;  // crossings and blobs are not minutiae
    for (int g = 0; g < 3; ++g) {
      // The pixel of each group farthest from the centre leads away from the fork.
      int best = -1;
      float best_d = -1;
      for (size_t i = 0; i < touching.size(); ++i) {
        if (group[i] != g) continue;
        const float d = std::hypot(touching[i].x - c.position.x, touching[i].y - c.position.y);
        if (d > best_d) {
          best_d = d;
          best = static_cast<int>(i);
        }
      }
      c.branch_starts.push_back(touching[best]);
    }
    const int index = static_cast<int>(cands.size());
    for (const cv::Point& p : members[l]) owner.at<int>(p) = index;
    cands.push_back(c);
    fork_members.push_back(members[l]);
  }
  fork_members.resize(cands.size());

  // Trace every candidate: direction and the spur/fragment/bridge checks.
  Tracer tracer(skel, cn, owner);
  for (size_t i = 0; i < cands.size(); ++i) {
    Candidate& c = cands[i];
    const cv::Point origin(static_cast<int>(std::lround(c.position.x)),
                           static_cast<int>(std::lround(c.position.y)));
    if (c.type == MinutiaType::kEnding) {
      if (c.branch_starts.empty()) {
        c.keep = false;
        continue;
      }
      const Trace t = tracer.Walk(static_cast<int>(i), origin, c.branch_starts[0], fragment_length,
                                  direction_length, {});
      if (t.stop == Stop::kBifurcation && t.length <= spur_length) {
        c.keep = false;  // spur: a short hair on a ridge
        cands[t.end_id].keep = false;
      } else if ((t.stop == Stop::kEnding || t.stop == Stop::kDeadEnd) &&
                 t.length <= fragment_length) {
        c.keep = false;  // short isolated fragment (dot, island)
        if (t.end_id >= 0) cands[t.end_id].keep = false;
      }
      c.direction = Normalized(t.direction_at - c.position);
      c.reliable = t.length >= 4;
    } else {
      std::array<cv::Point2f, 3> arms;
      const std::vector<cv::Point>& blocked = fork_members[i];
      for (int b = 0; b < 3; ++b) {
        std::vector<cv::Point> block_others = blocked;
        for (int o = 0; o < 3; ++o) {
          if (o != b) block_others.push_back(c.branch_starts[o]);
        }
        const Trace t = tracer.Walk(static_cast<int>(i), origin, c.branch_starts[b],
                                    direction_length, direction_length, block_others);
        if (t.stop == Stop::kBifurcation && t.length <= bridge_length) {
          c.keep = false;  // bridge, hole or ladder between ridges
          cands[t.end_id].keep = false;
        }
        arms[b] = Normalized(t.direction_at - c.position);
      }
      // The two arms closest in angle are the fork; the third is the stem.
      int stem = 0;
      float best_dot = -2;
      for (int b = 0; b < 3; ++b) {
        const float dot = arms[(b + 1) % 3].dot(arms[(b + 2) % 3]);
        if (dot > best_dot) {
          best_dot = dot;
          stem = b;
        }
      }
      const cv::Point2f fork = Normalized(arms[(stem + 1) % 3] + arms[(stem + 2) % 3]);
      c.direction = Normalized(fork - arms[stem]);
    }
  }

  // Snap directions to the smoothed orientation field where they agree.
  if (!input.orientation.empty()) {
    for (Candidate& c : cands) {
      const int br =
          std::clamp(static_cast<int>(c.position.y) / kBlockSize, 0, input.orientation.rows - 1);
      const int bc =
          std::clamp(static_cast<int>(c.position.x) / kBlockSize, 0, input.orientation.cols - 1);
      const float theta = input.orientation.at<float>(br, bc);
      cv::Point2f t(std::cos(theta), std::sin(theta));
      if (t.dot(c.direction) < 0) t = -t;
      if (t.dot(c.direction) > std::cos(kPi / 6)) c.direction = t;
    }
  }

  // Border.
  const float border_margin = 1.2f * period;
  for (Candidate& c : cands) {
    if (!c.keep) continue;
    const int x = static_cast<int>(c.position.x), y = static_cast<int>(c.position.y);
    float d = std::min(
        {c.position.x, c.position.y, skel.cols - 1 - c.position.x, skel.rows - 1 - c.position.y});
    if (!input.distance_to_border.empty()) {
      d = std::min(d, input.distance_to_border.at<float>(y, x));
    }
    if (d < border_margin || !c.reliable || (c.direction.x == 0 && c.direction.y == 0)) {
      c.keep = false;
    }
  }

  // Pairwise: broken ridges (two ends facing each other), too-close pairs, clouds.
  const float gap = 2.2f * period;
  const float too_close = 0.55f * period;
  const float cloud_radius = 1.8f * period;
  std::vector<int> alive;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (cands[i].keep) alive.push_back(static_cast<int>(i));
  }
  std::vector<bool> drop(cands.size(), false);
  std::vector<int> neighbours(cands.size(), 0);
  for (size_t a = 0; a < alive.size(); ++a) {
    const Candidate& ca = cands[alive[a]];
    for (size_t b = a + 1; b < alive.size(); ++b) {
      const Candidate& cb = cands[alive[b]];
      const cv::Point2f d = cb.position - ca.position;
      const float dist = std::hypot(d.x, d.y);
      if (dist > std::max(gap, cloud_radius)) continue;
      if (dist <= cloud_radius) {
        ++neighbours[alive[a]];
        ++neighbours[alive[b]];
      }
      if (dist < too_close) {
        drop[alive[a]] = drop[alive[b]] = true;
        continue;
      }
      if (ca.type == MinutiaType::kEnding && cb.type == MinutiaType::kEnding && dist < gap) {
        const cv::Point2f u = d / dist;
        // Each points into its own ridge, so across a gap they point apart.
        const bool opposite = ca.direction.dot(cb.direction) < std::cos(kPi * 0.7f);
        const bool aligned =
            (-ca.direction).dot(u) > std::cos(kPi / 4) && cb.direction.dot(u) > std::cos(kPi / 4);
        if (opposite && aligned) drop[alive[a]] = drop[alive[b]] = true;
      }
    }
  }
  std::vector<Minutia> result;
  for (int i : alive) {
    if (drop[i] || neighbours[i] >= 3) continue;
    const Candidate& c = cands[i];
    Minutia m;
    m.x = static_cast<int>(std::lround(c.position.x));
    m.y = static_cast<int>(std::lround(c.position.y));
    float angle = std::atan2(-c.direction.y, c.direction.x);
    if (angle < 0) angle += 2 * kPi;
    if (angle >= 2 * kPi) angle -= 2 * kPi;
    m.angle = angle;
    m.type = c.type;
    result.push_back(m);
  }
  return result;
}

}  // namespace abis::finger
