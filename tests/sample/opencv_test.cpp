// OpenCV as an independent reference: cv::remap with the coordinates of a cached_float e2p map
// (CV_32FC1 maps, BORDER_WRAP) against vbatch::sample::remap with wrap_equirect, on a natural-looking
// 1920×960 synthetic scene, for views away from the poles (OpenCV's BORDER_WRAP wraps rows
// top-to-bottom, which is not what happens over a pole).
//
// OpenCV quantises float map coordinates to 1/32 pixel (INTER_BITS = 5) and uses 15-bit fixed
// weights for u8; vbatch interpolates at the float point. Near a 200-level edge a 1/64 px shift
// moves a value by ~3 levels, so the bounds are: mean |diff| < 0.5 and max <= 4 for linear; cubic's
// overshooting kernel (sum |w| up to 1.27 per axis) can move it by ~5, so max <= 6; nearest (OpenCV rounds with cvRound, ties to
// even; vbatch rounds ties up) differs only where a coordinate is within OpenCV's rounding of a pixel boundary.

#if VBATCH_HAVE_OPENCV

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::record;

class OpenCvRemap : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    pano_ = new vb::batch_buffer<vb::u8>(vb::sample::render_equirect(1920, 960, 3, vb::sample::demo_scene));  // (1,960,1920,3)
    // Views away from the poles (|latitude| < 75° everywhere), one across the ±180° seam.
    rig_ = new vb::sample::rig{vb::sample::make_camera({0, 0, 0}, 256, 192, 90), vb::sample::make_camera({100, 20, 10}, 256, 192, 80),
                       vb::sample::make_camera({180, -15, -5}, 256, 192, 90), vb::sample::make_camera({-63.3, 7.7, 33}, 256, 192, 60)};
    map_ = new vb::sample::e2p_map<vb::sample::maps::cached_float>(vb::sample::make_e2p_map<vb::sample::maps::cached_float>(*rig_, 1920, 960));
  }
  static void TearDownTestSuite() {
    delete map_;
    delete rig_;
    delete pano_;
  }

  static cv::Mat pano_mat() {
    const auto v = pano_->view();
    return cv::Mat(v.h, v.w, CV_8UC3, const_cast<vb::u8*>(pano_->data()), std::size_t(v.stride_h));
  }

  // OpenCV's result for view k: maps built from the cached_float table.
  static cv::Mat opencv_view(int k, int interpolation) {
    const vb::sample::map_shape& m = map_->shape();
    const auto km = map_->view();
    cv::Mat mx(m.height, m.width, CV_32FC1), my(m.height, m.width, CV_32FC1);
    for (int y = 0; y < m.height; ++y)
      for (int x = 0; x < m.width; ++x) {
        const vb::sample::sample_point<float> p = km.at(k, y, x);
        mx.at<float>(y, x) = p.x;
        my.at<float>(y, x) = p.y;
      }
    cv::Mat out;
    cv::remap(pano_mat(), out, mx, my, interpolation, cv::BORDER_WRAP);
    return out;
  }

  template <class Policy, class Interp>
  static vb::batch_buffer<vb::u8> vbatch_views(Interp interp) {
    const auto map = vb::sample::make_e2p_map<Policy>(*rig_, 1920, 960);
    vb::batch_buffer<vb::u8> out({int(rig_->size()), 192, 256, 3});  // (K,192,256,3)
    vb::sample::remap(vb::cpu_par{2}, vb::batch_view<const vb::u8>(pano_->view()), map, out.view(), interp, vb::sample::border::wrap_equirect{});
    return out;
  }

  static vb::batch_view<const vb::u8> as_view(const cv::Mat& m) {
    return {m.ptr<vb::u8>(),           1,           m.rows, m.cols, m.channels(), std::ptrdiff_t(m.step[0]) * m.rows,
            std::ptrdiff_t(m.step[0]), m.channels()};
  }

  template <class Interp>
  static void compare_with(int interpolation, Interp interp, const char* name, double mean_bound, double max_bound) {
    const auto ours = vbatch_views<vb::sample::maps::cached_float>(interp);
    for (int k = 0; k < int(rig_->size()); ++k) {
      const cv::Mat theirs = opencv_view(k, interpolation);
      const auto d = vbatch_test::compare(vb::batch_view<const vb::u8>(ours.view().image(k)), as_view(theirs));
      record(std::string("opencv_") + name + "_view" + std::to_string(k) + "_mean", d.mean_abs);
      record(std::string("opencv_") + name + "_view" + std::to_string(k) + "_max", d.max_abs);
      EXPECT_LT(d.mean_abs, mean_bound) << name << " view " << k << ": " << d;
      EXPECT_LE(d.max_abs, max_bound) << name << " view " << k << ": " << d;
    }
  }

  static inline vb::batch_buffer<vb::u8>* pano_ = nullptr;
  static inline vb::sample::rig* rig_ = nullptr;
  static inline vb::sample::e2p_map<vb::sample::maps::cached_float>* map_ = nullptr;
};

TEST_F(OpenCvRemap, BilinearMatchesInterLinearWithinFixedPointRounding) {
  compare_with(cv::INTER_LINEAR, vb::sample::interp::bilinear{}, "linear", 0.5, 4);
}

TEST_F(OpenCvRemap, BicubicMatchesInterCubicWithinFixedPointRounding) {
  // vbatch's default a = -0.75 is OpenCV's INTER_CUBIC kernel.
  compare_with(cv::INTER_CUBIC, vb::sample::interp::bicubic{}, "cubic", 0.5, 6);
}

TEST_F(OpenCvRemap, BicubicWithCatmullRomDiffersFromInterCubic) {
  // The comparison can tell kernels apart: a = -0.5 is not OpenCV's kernel.
  const auto ours = vbatch_views<vb::sample::maps::cached_float>(vb::sample::interp::bicubic{-0.5f});
  const cv::Mat theirs = opencv_view(0, cv::INTER_CUBIC);
  EXPECT_GT(vbatch_test::compare(vb::batch_view<const vb::u8>(ours.view().image(0)), as_view(theirs)).max_abs, 6);
}

TEST_F(OpenCvRemap, NearestPicksTheSamePixelExceptAtRoundingTies) {
  const auto ours = vbatch_views<vb::sample::maps::cached_float>(vb::sample::interp::nearest{});
  for (int k = 0; k < int(rig_->size()); ++k) {
    const cv::Mat theirs = opencv_view(k, cv::INTER_NEAREST);
    const auto d = vbatch_test::compare(vb::batch_view<const vb::u8>(ours.view().image(k)), as_view(theirs));
    record("opencv_nearest_view" + std::to_string(k) + "_differing_pixels", double(d.differing_pixels));
    EXPECT_LE(double(d.differing_pixels), 1e-3 * double(d.pixels)) << "view " << k << ": " << d;
  }
}

TEST_F(OpenCvRemap, FixedPointBilinearStaysWithinTheSameBoundsOfOpenCvAndOfFloat) {
  const auto fixed = vbatch_views<vb::sample::maps::cached_fixed>(vb::sample::interp::bilinear{});
  const auto flt = vbatch_views<vb::sample::maps::cached_float>(vb::sample::interp::bilinear{});
  const auto ff = vbatch_test::compare(vb::batch_view<const vb::u8>(fixed.view()), vb::batch_view<const vb::u8>(flt.view()));
  record("fixed_vs_float_bilinear_mean", ff.mean_abs);
  record("fixed_vs_float_bilinear_max", ff.max_abs);
  // 1/256 px of position error at a 200-level edge is < 1 level, plus rounding.
  EXPECT_LT(ff.mean_abs, 0.1) << ff;
  EXPECT_LE(ff.max_abs, 2) << ff;
  for (int k = 0; k < int(rig_->size()); ++k) {
    const auto d =
        vbatch_test::compare(vb::batch_view<const vb::u8>(fixed.view().image(k)), as_view(opencv_view(k, cv::INTER_LINEAR)));
    EXPECT_LT(d.mean_abs, 0.5) << "view " << k << ": " << d;
    EXPECT_LE(d.max_abs, 4) << "view " << k << ": " << d;
  }
}

TEST_F(OpenCvRemap, TheSeamViewNeedsWrapping) {
  // Sensitivity: with OpenCV's constant border the seam view differs a lot, so the agreement
  // above does rest on both sides wrapping.
  const auto ours = vbatch_views<vb::sample::maps::cached_float>(vb::sample::interp::bilinear{});
  const vb::sample::map_shape& m = map_->shape();
  const auto km = map_->view();
  cv::Mat mx(m.height, m.width, CV_32FC1), my(m.height, m.width, CV_32FC1);
  for (int y = 0; y < m.height; ++y)
    for (int x = 0; x < m.width; ++x) mx.at<float>(y, x) = km.at(2, y, x).x, my.at<float>(y, x) = km.at(2, y, x).y;
  cv::Mat constant;
  cv::remap(pano_mat(), constant, mx, my, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  EXPECT_GT(vbatch_test::compare(vb::batch_view<const vb::u8>(ours.view().image(2)), as_view(constant)).max_abs, 50);
}

}  // namespace

#endif  // VBATCH_HAVE_OPENCV
