#pragma once
// A batch_model (model/batch_model.hpp) running an ONNX file through OpenCV's DNN module (cv::dnn,
// part of Debian's OpenCV). Needs OpenCV (core, dnn): not part of vbatch/vbatch.hpp.
//
//   model::opencv_dnn<model::matrix_view<float>> reid("reid.onnx", {.input = {3, 256, 128}});   // rows
//   model::opencv_dnn segmenter("seg.onnx", {.input = {3, 512, 512}});                          // tensors
//   model::run_model(vbatch::cpu_par{}, reid, frames, crops, policy, model::matrix_view<float>{emb, n, 512});
//   segmenter(blob, maps);                         // blob (N,3,512,512) -> maps (N, segmenter.output_shape())
//
// The file is read once, at construction, and the network reused for every batch. The input is
// an f32 (N,C,H,W) batch in host memory with (C,H,W) = options.input; N is free when the model's
// batch dimension is dynamic. The output shape of one item is learned at construction by running
// one item of zeros: an output of rank 2 (N,D) gives items of (D,1,1) (embeddings, scores), rank 3
// (N,A,B) items of (1,A,B) (YOLO's rows or channels layout), rank 4 (N,C,H,W) items of (C,H,W).
// Each call checks the network's output against that shape and copies it into the output view:
// the items of a tensor_view, or the rows of a matrix_view (output_shape().elements() columns).
// options.output picks another layer by OpenCV's name for it: OpenCV 4.6 calls the layer of an
// ONNX node "onnx_node!<node name>" ("onnx_node_output_0!<first output>" when the node has no
// name); an unknown name is an error listing the network's layers.
//
// Threads: a cv::dnn::Net must not run from two threads at once, so calls on one adapter take a
// mutex and run one after another; load one adapter per thread to run in parallel. OpenCV
// parallelises each layer on its own thread pool (cv::setNumThreads, a process-wide setting this
// adapter leaves alone), outside vbatch's thread budget.
//
// Errors (vbatch::error, messages start with "opencv_dnn(<file>)"): a missing or unreadable file
// is errc::io, one OpenCV cannot parse errc::corrupt_data; a batch or output view of the wrong
// shape is errc::invalid_argument naming the parameter; OpenCV running out of memory is
// errc::out_of_memory (run_model and batch::for_each_batch then retry with a smaller batch); any
// other failure inside OpenCV is errc::invalid_argument with OpenCV's message.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "vbatch/core/error.hpp"
#include "vbatch/model/batch_model.hpp"
#include "vbatch/model/tensor.hpp"

namespace vbatch::inline v0::model {

struct opencv_dnn_options {
  item_shape input{};                         // C, H, W of one input item (required)
  std::string output{};                       // OpenCV's name of the layer to return; empty: the network's output
  int backend = cv::dnn::DNN_BACKEND_OPENCV;  // a cv::dnn::Backend
  int target = cv::dnn::DNN_TARGET_CPU;       // a cv::dnn::Target
};

// OutputView: tensor_view<float> (items of output_shape()) or matrix_view<float> (one row per item).
template <class OutputView = tensor_view<float>>
class opencv_dnn {
  static_assert(std::same_as<OutputView, tensor_view<float>> || std::same_as<OutputView, matrix_view<float>>,
                "opencv_dnn writes a tensor_view<float> or a matrix_view<float>");

 public:
  using output_view = OutputView;

  opencv_dnn(std::filesystem::path file, opencv_dnn_options options)
      : file_(std::move(file)), options_(std::move(options)), state_(std::make_unique<state>()) {
    const item_shape in = options_.input;
    if (in.c < 1 || in.h < 1 || in.w < 1)
      raise(errc::invalid_argument, "opencv_dnn({}): options.input is {}x{}x{}; give the C, H, W of one input item", name(), in.c,
            in.h, in.w);
    if (!std::ifstream(file_, std::ios::binary)) raise(errc::io, "opencv_dnn({}): cannot open the model file", name());
    try {
      state_->net = cv::dnn::readNetFromONNX(file_.string());
    } catch (const cv::Exception& e) {
      raise(errc::corrupt_data, "opencv_dnn({}): OpenCV cannot read the model: {}", name(), e.what());
    }
    if (state_->net.empty()) raise(errc::corrupt_data, "opencv_dnn({}): OpenCV read no network from the model file", name());
    check_output_name();
    // OpenCV 4.6 fuses batch-norm and activations into convolutions once, for the first batch's
    // size; a later batch of another size then comes out wrong after a ConvTranspose
    // (tests/data/models/upsampler.onnx: up to 0.015 off). Unfused layers are right for every size.
    state_->net.enableFusion(false);
    state_->net.setPreferableBackend(options_.backend);
    state_->net.setPreferableTarget(options_.target);
    learn_output_shape();
  }

  const std::filesystem::path& file() const { return file_; }
  const opencv_dnn_options& options() const { return options_; }
  item_shape input_shape() const { return options_.input; }
  item_shape output_shape() const { return output_; }

  // Runs the network on `input` (N, input_shape()) and writes N items of output_shape() to `output`.
  void operator()(tensor_view<const float> input, output_view output) const {
    const item_shape in = options_.input;
    if (input.n < 0 || item_shape{input.c, input.h, input.w} != in)
      raise(errc::invalid_argument, "opencv_dnn({}): input is ({},{},{},{}); the model takes (N,{},{},{}) (options.input)",
            name(), input.n, input.c, input.h, input.w, in.c, in.h, in.w);
    check_output(output, input.n);
    if (input.n == 0) return;
    if (!input.data) raise(errc::invalid_argument, "opencv_dnn({}): input has no data", name());
    run(input, [&](const cv::Mat& result) {
      if (result.size[0] != input.n || item_shape_of(result) != output_)
        raise(errc::invalid_argument, "opencv_dnn({}): the network gave {} for a batch of {}, not ({},{},{},{})", name(),
              shape_text(result), input.n, input.n, output_.c, output_.h, output_.w);
      copy_output(result.ptr<float>(), output);
    });
  }

 private:
  struct state {
    cv::dnn::Net net;
    std::mutex mutex;  // a cv::dnn::Net is not safe to call from two threads at once
  };

  std::string name() const { return file_.string(); }

  void check_output_name() const {
    if (options_.output.empty()) return;
    const std::vector<std::string> layers = state_->net.getLayerNames();
    if (std::find(layers.begin(), layers.end(), options_.output) != layers.end()) return;
    std::string names;
    for (const std::string& layer : layers) names += (names.empty() ? "" : ", ") + layer;
    raise(errc::invalid_argument, "opencv_dnn({}): options.output \"{}\" is not a layer of the network; its layers: {}", name(),
          options_.output, names);
  }

  void learn_output_shape() {
    const item_shape in = options_.input;
    std::vector<float> zeros(in.elements());
    run({zeros.data(), 1, in.c, in.h, in.w}, [&](const cv::Mat& result) {
      if (result.size[0] != 1)
        raise(errc::unsupported, "opencv_dnn({}): the network gave {} for one item; its first dimension must be the batch",
              name(), shape_text(result));
      output_ = item_shape_of(result);
    });
  }

  // Runs the network and hands its output, a dense f32 blob in OpenCV's own buffer, to `use` while
  // the lock is held: the next run overwrites that buffer.
  template <class Use>
  void run(tensor_view<const float> input, Use&& use) const {
    const int dims[] = {input.n, input.c, input.h, input.w};
    // A header over the caller's data: setInput copies it into the network's input blob.
    const cv::Mat blob(4, dims, CV_32F, const_cast<float*>(input.data));
    const std::lock_guard lock(state_->mutex);
    cv::Mat result;
    try {
      state_->net.setInput(blob);
      result = state_->net.forward(options_.output);
    } catch (const cv::Exception& e) {
      const errc code = e.code == cv::Error::StsNoMem ? errc::out_of_memory : errc::invalid_argument;
      raise(code, "opencv_dnn({}): OpenCV failed on a batch of {}: {}", name(), input.n, e.what());
    }
    if (result.type() != CV_32F || !result.isContinuous() || result.dims < 2 || result.dims > 4)
      raise(errc::unsupported, "opencv_dnn({}): the network gave {}; outputs are dense f32 blobs of rank 2 to 4 here", name(),
            shape_text(result));
    use(result);
  }

  // One item's shape in a result of rank 2 to 4: (N,D) -> (D,1,1); (N,A,B) -> (1,A,B); (N,C,H,W) -> (C,H,W).
  static item_shape item_shape_of(const cv::Mat& m) {
    if (m.dims == 2) return {m.size[1], 1, 1};
    if (m.dims == 3) return {1, m.size[1], m.size[2]};
    return {m.size[1], m.size[2], m.size[3]};
  }

  void check_output(const tensor_view<float>& out, int items) const {
    if (out.n != items || item_shape{out.c, out.h, out.w} != output_)
      raise(errc::invalid_argument, "opencv_dnn({}): output is ({},{},{},{}); the model gives ({},{},{},{}) for {} items", name(),
            out.n, out.c, out.h, out.w, items, output_.c, output_.h, output_.w, items);
    if (items > 0 && !out.data) raise(errc::invalid_argument, "opencv_dnn({}): output has no data", name());
  }
  void check_output(const matrix_view<float>& out, int items) const {
    if (out.rows != items || out.cols != output_.elements() || out.row_stride() < out.cols)
      raise(errc::invalid_argument, "opencv_dnn({}): output is {}x{} (rows,cols; stride {}); the model gives {}x{} for {} items",
            name(), out.rows, out.cols, out.row_stride(), items, output_.elements(), items);
    if (items > 0 && !out.data) raise(errc::invalid_argument, "opencv_dnn({}): output has no data", name());
  }

  static void copy_output(const float* result, const tensor_view<float>& out) {
    std::memcpy(out.data, result, sizeof(float) * out.elements());
  }
  static void copy_output(const float* result, const matrix_view<float>& out) {
    for (int r = 0; r < out.rows; ++r) std::memcpy(out.row(r), result + std::int64_t{r} * out.cols, sizeof(float) * out.cols);
  }

  static std::string shape_text(const cv::Mat& m) {
    std::string text = "(";
    for (int i = 0; i < m.dims; ++i) {
      if (i > 0) text += ',';
      text += std::to_string(m.size[i]);
    }
    return text + ")";
  }

  std::filesystem::path file_;
  opencv_dnn_options options_;
  std::unique_ptr<state> state_;  // behind a pointer: the adapter stays movable and its calls const
  item_shape output_{};
};

}  // namespace vbatch::inline v0::model
