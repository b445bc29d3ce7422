// masks: grow, shrink or clean segmentation masks (dilate, erode, open, close, gradient).
//
//   masks --demo -o out/                                   # synthetic person masks, dilated, with comparisons
//   masks masks/ -o grown/ --op dilate --shape square --size 15
//   masks 'masks/*_person.png' -o grown/ --shape disk --size 21 --compare cmp/ --images frames/
//   masks masks/ -o clean/ --op open --shape ellipse --width 9 --height 5 --iterations 2
//
// Every mask found (a directory is searched recursively for .png/.jpg/.jpeg; a quoted glob is
// expanded here; `*` does not cross '/') is written to the output directory under the same
// relative name. Masks of one size go through one batched call, loaded and saved in parallel.
// --compare DIR writes, per mask, the mask before and after side by side over the source image
// (--images DIR, same relative name with any image extension) or over gray.
//
// Everything that can be checked (arguments, the element, every input's header, source images
// and their sizes, name collisions, output directories) is checked before the first mask is
// loaded, so a mistake costs no work and leaves no files. Files are written atomically. A mask
// that cannot be read, decoded or written is skipped and listed in DIR/failures.json
// (--on-error skip, the default), or stops the run (--on-error stop).
//
// Exit status: 0 done, 1 an input or output problem (or more failures than --max-failures), 2 a
// bad command line, 3 done but with failed masks (failures.json).

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vbatch/io/image_io.hpp"
#include "vbatch/morph/mask.hpp"
#include "vbatch/morph/morphology.hpp"
#include "vbatch/vbatch.hpp"

#include "../common/tool.hpp"

namespace {

namespace fs = std::filesystem;
namespace morph = vbatch::morph;
using vbatch::u8;

using vbatch_tools::clock_type;
using vbatch_tools::fail;
using vbatch_tools::seconds_since;
using vbatch_tools::usage;
using vbatch_tools::usage_error;

struct options {
  std::vector<std::string> inputs;
  fs::path out, compare, images;
  std::string op = "dilate", shape = "square", algorithm = "automatic";
  int size = 15, width = 0, height = 0, iterations = 1, threads = 0, batch = 8, quality = 92;
  bool demo = false, quiet = false;
  std::int64_t max_pixels = vbatch::io::image_limits{}.max_pixels;
  bool size_given = false;
  vbatch_tools::failure_options failures;
  bool fsync = false;
  std::string shard;  // "i/n" or "auto": this job's part of the masks
  fs::path report;    // --report FILE.json
};

// ---- the operation --------------------------------------------------------------------------------

const std::map<std::string, morph::operation> operations{
    {"dilate", morph::operation::dilate},    {"erode", morph::operation::erode},       {"open", morph::operation::open},
    {"close", morph::operation::close},      {"gradient", morph::operation::gradient}, {"tophat", morph::operation::tophat},
    {"blackhat", morph::operation::blackhat}};
const std::map<std::string, morph::algorithm> algorithms{
    {"automatic", morph::algorithm::automatic}, {"direct", morph::algorithm::direct},
    {"separable", morph::algorithm::separable}, {"van_herk", morph::algorithm::van_herk},
    {"segments", morph::algorithm::segments},   {"packed", morph::algorithm::packed}};

// The element from --shape, --size, --width, --height; the library's checks name the value.
morph::structuring_element make_element(const options& o, std::string& label) {
  const bool sides = o.width != 0 || o.height != 0;
  if (sides && (o.shape == "square" || o.shape == "disk"))
    usage("--width/--height apply to --shape rect, ellipse or cross; a {} takes --size", o.shape);
  if (sides && (o.width <= 0 || o.height <= 0))
    usage("--width {} --height {}: give both, as positive integers (e.g. --width 9 --height 5)", o.width, o.height);
  if (o.shape == "rect" && !sides && !o.size_given) usage("--shape rect needs --width and --height (or --size for a square)");
  const int w = sides ? o.width : o.size, h = sides ? o.height : o.size;
  if (o.size <= 0) usage("--size {}: must be a positive integer", o.size);
  if (w > 4097 || h > 4097) usage("--size/--width/--height {}x{}: at most 4097", w, h);
  if (o.shape == "disk") {
    if (o.size % 2 == 0)
      usage("--size {}: a disk needs an odd diameter 2r+1 ({} or {}); --shape ellipse takes even sizes", o.size, o.size - 1,
            o.size + 1);
    label = fmt::format("disk of radius {} ({}x{})", o.size / 2, o.size, o.size);
    return morph::disk(o.size / 2);
  }
  label = fmt::format("{} {}x{}", o.shape, w, h);
  const morph::shape s = o.shape == "cross"     ? morph::shape::cross
                         : o.shape == "ellipse" ? morph::shape::ellipse
                                                : morph::shape::rect;
  const vbatch::status st = morph::can_make_element(s, w, h);
  if (!st) usage("{}", st.message);
  return morph::make_element(s, w, h);
}

// ---- inputs -----------------------------------------------------------------------------------------

struct mask_file {
  fs::path path;      // empty for --demo masks
  fs::path relative;  // name under the output directory
  int width = 0, height = 0;
  fs::path image;  // source image for --compare, if any
};

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

bool has_wildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// Image files under `dir` (recursively), with their path relative to `base`, matching `pattern`
// (relative to base; empty = all).
void scan(const fs::path& dir, const fs::path& base, const std::string& pattern, std::vector<mask_file>& out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) fail("{}: cannot read the directory: {}", dir.string(), ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) fail("{}: cannot read the directory: {}", dir.string(), ec.message());
    if (!it->is_regular_file(ec) || !has_image_extension(it->path())) continue;
    const fs::path relative = it->path().lexically_relative(base);
    if (!pattern.empty() && ::fnmatch(pattern.c_str(), relative.generic_string().c_str(), FNM_PATHNAME) != 0) continue;
    out.push_back({it->path(), relative, 0, 0, {}});
  }
}

std::vector<mask_file> collect_inputs(const std::vector<std::string>& inputs) {
  std::vector<mask_file> files;
  for (const std::string& input : inputs) {
    const std::size_t before = files.size();
    if (has_wildcard(input)) {
      // The base is the part before the first component with a wildcard.
      fs::path base;
      const fs::path whole(input);
      fs::path rest;
      bool wild = false;
      for (const fs::path& part : whole) {
        if (!wild && has_wildcard(part.string())) wild = true;
        (wild ? rest : base) /= part;
      }
      if (base.empty()) base = ".";
      if (!fs::is_directory(base)) fail("{}: no such directory (from the pattern '{}')", base.string(), input);
      scan(base, base, rest.generic_string(), files);
      if (files.size() == before) fail("'{}': no .png/.jpg/.jpeg file matches", input);
    } else if (fs::is_directory(input)) {
      scan(input, input, "", files);
      if (files.size() == before) fail("{}: no .png/.jpg/.jpeg masks in the directory", input);
    } else if (fs::exists(input)) {
      files.push_back({input, fs::path(input).filename(), 0, 0, {}});
    } else {
      fail("{}: no such file or directory", input);
    }
  }
  std::sort(files.begin(), files.end(), [](const mask_file& a, const mask_file& b) { return a.relative < b.relative; });
  for (std::size_t k = 1; k < files.size(); ++k)
    if (files[k].relative == files[k - 1].relative)
      fail("{} and {} would both be written as {}", files[k - 1].path.string(), files[k].path.string(),
           files[k].relative.string());
  return files;
}

// The source image of a mask under --images: the same relative name with any image extension.
fs::path find_source_image(const fs::path& images, const mask_file& m) {
  for (const char* ext : {".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG"}) {
    fs::path candidate = images / m.relative;
    candidate.replace_extension(ext);
    if (fs::is_regular_file(candidate)) return candidate;
  }
  fail("{}: no source image {} (.png, .jpg or .jpeg) under --images {}", m.path.string(), m.relative.stem().string(),
       images.string());
}

// Creates a directory and proves it writable with a probe file, before any work.
void check_output_dir(const fs::path& dir, const char* option) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{} {}: cannot create the directory: {}", option, dir.string(), ec.message());
  if (!fs::is_directory(dir)) fail("{} {}: not a directory", option, dir.string());
  std::string probe = (dir / ".masks-probe-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) fail("{} {}: cannot write in the directory: {}", option, dir.string(), std::strerror(errno));
  ::close(fd);
  fs::remove(probe, ec);
}

// ---- the demo: person-like masks and photos -----------------------------------------------------------

struct demo_data {
  vbatch::batch_buffer<u8> masks, photos;  // (N,H,W,1), (N,H,W,3)
};

demo_data make_demo(int count, int w, int h) {
  demo_data d{vbatch::batch_buffer<u8>({count, h, w, 1}), vbatch::batch_buffer<u8>({count, h, w, 3})};
  std::mt19937 rng(2024);
  for (int i = 0; i < count; ++i) {
    const auto m = d.masks.view().image(i);
    const auto p = d.photos.view().image(i);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        m(0, y, x, 0) = 0;  // a sky-to-ground gradient with some texture
        const double t = double(y) / h, n = ((x * 37 + y * 91) % 17) / 17.0;
        p(0, y, x, 0) = static_cast<u8>(90 + 100 * t + 20 * n), p(0, y, x, 1) = static_cast<u8>(140 + 60 * t + 15 * n);
        p(0, y, x, 2) = static_cast<u8>(210 - 120 * t + 10 * n);
      }
    const auto ellipse = [&](double cx, double cy, double rx, double ry, u8 r, u8 g, u8 b) {
      for (int y = std::max(0, int(cy - ry)); y <= std::min(h - 1, int(cy + ry)); ++y)
        for (int x = std::max(0, int(cx - rx)); x <= std::min(w - 1, int(cx + rx)); ++x)
          if ((x - cx) * (x - cx) / (rx * rx) + (y - cy) * (y - cy) / (ry * ry) <= 1)
            m(0, y, x, 0) = 255, p(0, y, x, 0) = r, p(0, y, x, 1) = g, p(0, y, x, 2) = b;
    };
    for (int person = 0; person < 1 + i % 3; ++person) {
      const double s = h / 480.0 * (0.7 + 0.1 * (rng() % 5)), cx = w * (0.2 + 0.6 * (rng() % 100) / 100.0), cy = h * 0.55;
      const u8 shirt = static_cast<u8>(rng() % 200);
      ellipse(cx, cy - 120 * s, 22 * s, 27 * s, 225, 180, 150);                  // head
      ellipse(cx, cy, 52 * s, 90 * s, shirt, 60, static_cast<u8>(200 - shirt));  // body
      ellipse(cx - 20 * s, cy + 120 * s, 15 * s, 60 * s, 40, 40, 70);            // legs
      ellipse(cx + 20 * s, cy + 120 * s, 15 * s, 60 * s, 40, 40, 70);
      ellipse(cx + 55 * s, cy - 10 * s, 25 * s, 35 * s, 120, 90, 40);  // a backpack
    }
  }
  return d;
}

// ---- the comparison image -----------------------------------------------------------------------------

// Before | after, side by side over the source (or gray): kept pixels green, added orange,
// removed red, each blended half over the picture; a white bar between.
vbatch::batch_buffer<u8> side_by_side(vbatch::batch_view<const u8> before, vbatch::batch_view<const u8> after,
                                      const vbatch::batch_buffer<u8>* photo) {
  const int w = before.w, h = before.h, gap = std::max(2, w / 100);
  vbatch::batch_buffer<u8> out({1, h, 2 * w + gap, 3});  // (1,H,2W+gap,3)
  const auto o = out.view();
  const auto blend = [](u8* px, const u8* base, int r, int g, int b) {
    px[0] = static_cast<u8>((base[0] + r) / 2), px[1] = static_cast<u8>((base[1] + g) / 2),
    px[2] = static_cast<u8>((base[2] + b) / 2);
  };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < gap; ++x) std::fill_n(o.pixel(0, y, w + x), 3, u8(255));
    for (int x = 0; x < w; ++x) {
      u8 gray[3] = {96, 96, 96};
      const u8* base = photo ? photo->view().pixel(0, y, x) : gray;
      const bool b = before(0, y, x, 0) != 0, a = after(0, y, x, 0) != 0;
      u8* left = o.pixel(0, y, x);
      u8* right = o.pixel(0, y, w + gap + x);
      if (b)
        blend(left, base, 40, 220, 60);
      else
        std::copy_n(base, 3, left);
      if (a && b)
        blend(right, base, 40, 220, 60);
      else if (a)
        blend(right, base, 255, 150, 0);
      else if (b)
        blend(right, base, 230, 30, 30);
      else
        std::copy_n(base, 3, right);
    }
  }
  return out;
}

// ---- the work loop ------------------------------------------------------------------------------------

struct totals {
  double load = 0, morph = 0, save = 0;
  long long masks = 0, pixels = 0, changed = 0, on_before = 0, on_after = 0;  // masks: done in full
  long long outputs = 0;                                                      // files written: masks and comparisons
  std::vector<vbatch_tools::item_failure> failures;                           // --on-error skip: masks skipped
};

fs::path compare_name(const fs::path& relative) {
  fs::path p = relative;
  p.replace_extension(".jpg");
  return p;
}

totals process(const options& o, const std::vector<mask_file>& files, morph::operation op, const morph::structuring_element& e,
               const morph::options& mo, const demo_data* demo, vbatch::pipeline::failure_limit& limit) {
  const vbatch::cpu_par exec{o.threads};
  const vbatch::io::image_limits limits{o.max_pixels};
  totals t;
  vbatch_tools::progress_line bar(o.quiet, "masks", files.size());
  // Reused while masks keep their size: fresh buffers would be page-faulted in on every batch.
  vbatch::batch_buffer<u8> in_buffer, out_buffer;
  // A mask's failure (--on-error skip: its result is not written; stop: the first one is thrown).
  std::vector<std::optional<vbatch_tools::item_failure>> failed(std::size_t(o.batch));
  const auto attempt = [&](int i, const fs::path& file, const char* stage, auto&& body) {
    try {
      body();
      return true;
    } catch (const std::exception& x) {
      if (!o.failures.skip()) throw;
      failed[std::size_t(i)] = vbatch_tools::item_failure{file.string(), stage, x.what()};
      return false;
    }
  };
  for (std::size_t first = 0, last; first < files.size() && !limit.exceeded(); first = last) {
    for (last = first + 1; last < files.size() && last - first < std::size_t(o.batch) &&
                           files[last].width == files[first].width && files[last].height == files[first].height;
         ++last) {
    }
    const int count = static_cast<int>(last - first), w = files[first].width, h = files[first].height;

    auto t0 = clock_type::now();
    if (in_buffer.shape().n < count || in_buffer.shape().h != h || in_buffer.shape().w != w) {
      in_buffer = {}, out_buffer = {};
      in_buffer = vbatch::batch_buffer<u8>({std::max(count, o.batch), h, w, 1});
      out_buffer = vbatch::batch_buffer<u8>(in_buffer.shape());
    }
    const vbatch::batch_view<u8> in = in_buffer.view().images(0, count), out = out_buffer.view().images(0, count);  // (B,H,W,1)
    std::fill(failed.begin(), failed.end(), std::nullopt);
    vbatch::for_each_item(exec, count, [&](int i) {
      const mask_file& f = files[first + i];
      if (f.path.empty())
        return void(std::copy_n(demo->masks.view().pixel(int(first) + i, 0, 0), std::size_t(w) * h, in.pixel(i, 0, 0)));
      if (!attempt(i, f.path, "decode", [&] { vbatch::io::load_image_into(f.path, in.image(i), limits); }))
        std::fill_n(in.pixel(i, 0, 0), std::size_t(w) * h, u8{0});  // no half-decoded mask in the batch
    });
    t.load += seconds_since(t0);

    t0 = clock_type::now();
    morph::morphology(exec, op, in, out, e, mo);  // the whole batch in one call
    t.morph += seconds_since(t0);

    t0 = clock_type::now();
    vbatch::for_each_item(exec, count, [&](int i) {
      const mask_file& f = files[first + i];
      if (failed[std::size_t(i)]) return;
      fs::path target = o.out / f.relative;
      if (f.path.empty()) target.replace_extension(".png");
      if (!attempt(i, target, "write",
                   [&] { vbatch::io::save_image(target, out.image(i), {.jpeg_quality = o.quality, .fsync = o.fsync}); }))
        return;
      if (o.compare.empty()) return;
      const fs::path compared = o.compare / compare_name(f.relative);
      attempt(i, compared, "compare", [&] {
        std::optional<vbatch::batch_buffer<u8>> photo;
        if (!f.image.empty()) photo = vbatch::io::load_image(f.image, 3, limits);
        if (f.path.empty()) {
          photo.emplace(vbatch::batch_shape{1, h, w, 3});
          std::copy_n(demo->photos.view().pixel(int(first) + i, 0, 0), std::size_t(w) * h * 3, photo->data());
        }
        const auto cmp = side_by_side(in.image(i), out.image(i), photo ? &*photo : nullptr);
        vbatch::io::save_image(compared, cmp.view(), {.jpeg_quality = o.quality, .fsync = o.fsync});
      });
    });
    long long skipped = 0, compare_failed = 0;  // a failed comparison's mask was written
    for (std::optional<vbatch_tools::item_failure>& f : failed) {
      if (!f) continue;
      compare_failed += f->stage == "compare";
      t.failures.push_back(std::move(*f));
      limit.add();
      ++skipped;
    }
    for (std::int64_t k = 0; k < in.shape().elements(); ++k) {
      t.changed += in.data[k] != out.data[k];
      t.on_before += in.data[k] != 0;
      t.on_after += out.data[k] != 0;
    }
    t.save += seconds_since(t0);
    t.masks += count - skipped;
    t.outputs += count - skipped + compare_failed + (o.compare.empty() ? 0 : count - skipped);
    t.pixels += in.shape().elements();
    bar.update(last);
  }
  bar.finish();
  return t;
}

int run(options o) {
  const auto start = clock_type::now();
  // 1. Arguments and the element.
  // Inputs first, then -o (not CLI11's ->required(), which would name -o first when both are missing).
  if (o.inputs.empty() && !o.demo)
    usage("no inputs: give mask files, directories or a quoted glob, or --demo to try synthetic masks{}",
          o.out.empty() ? "; and -o DIR for the results" : "");
  if (o.out.empty()) usage("--output is required: the directory for the results (-o DIR)");
  if (!o.images.empty() && o.compare.empty()) usage("--images {} is only used with --compare DIR", o.images.string());
  std::string label;
  const morph::structuring_element e = make_element(o, label);
  const morph::operation op = operations.at(o.op);
  const morph::options mo{o.iterations, algorithms.at(o.algorithm)};
  if (mo.algorithm == morph::algorithm::van_herk || mo.algorithm == morph::algorithm::separable) {
    if (!e.is_rect()) usage("--algorithm {} needs --shape square or rect, not a {}", o.algorithm, label);
  }
  if (o.demo && o.compare.empty()) o.compare = o.out / "compare";

  // 2. Inputs: they exist, have distinct output names, readable headers within the limits, and
  // (with --images) a source image of their size.
  std::vector<mask_file> files;
  std::optional<demo_data> demo;
  if (o.demo) {
    demo = make_demo(4, 640, 480);
    for (int i = 0; i < 4; ++i) files.push_back({{}, fmt::format("demo_{:02d}.png", i), 640, 480, {}});
  } else {
    files = collect_inputs(o.inputs);
  }
  // Job i of n takes its contiguous part of the masks, balanced by pixels.
  const std::optional<vbatch::batch::shard> shard = vbatch_tools::parse_shard_option(o.shard);
  if (!o.demo)
    files =
        vbatch_tools::take_shard(std::move(files), shard, [](const mask_file& f) { return vbatch_tools::image_cost(f.path); });
  vbatch_tools::run_summary summary;
  summary.tool = "masks", summary.unit = "masks", summary.shard = shard, summary.items = files.size();
  const auto finish = [&](std::vector<vbatch_tools::item_failure> failures, bool too_many, std::size_t max_failures) {
    return vbatch_tools::finish_run("masks", o.out, std::move(failures), too_many, max_failures, o.quiet, o.report, summary,
                                    start);
  };
  if (files.empty()) {
    if (!o.quiet) fmt::print("shard {}: no masks for this job\n", o.shard);
    check_output_dir(o.out, "--output");
    return finish({}, false, 0);
  }
  // With --on-error skip, a mask whose header (or source image) is unusable is listed and left out.
  vbatch::pipeline::failure_limit limit(o.failures.limit(files.size()));
  std::vector<vbatch_tools::item_failure> failures;
  std::erase_if(files, [&](mask_file& f) {
    return !f.path.empty() && !vbatch_tools::check_input(o.failures, f.path.string(), failures, limit, [&] {
      const vbatch::io::image_info info = vbatch::io::read_image_info(f.path);
      vbatch::check(vbatch::io::can_load(f.path, info, vbatch::io::image_limits{o.max_pixels}));
      f.width = info.width, f.height = info.height;
      if (!o.images.empty()) {
        f.image = find_source_image(o.images, f);
        const vbatch::io::image_info src = vbatch::io::read_image_info(f.image);
        if (src.width != f.width || src.height != f.height)
          fail("{}: the source image is {}x{} but the mask {} is {}x{}", f.image.string(), src.width, src.height, f.path.string(),
               f.width, f.height);
      }
    });
  });
  if (!o.images.empty() && !fs::is_directory(o.images)) fail("--images {}: no such directory", o.images.string());

  // 3. Outputs: never over an input; the directories exist and take files.
  for (const mask_file& f : files) {
    if (f.path.empty()) continue;
    std::error_code ec;
    if (fs::equivalent(f.path, o.out / f.relative, ec) ||
        (!o.compare.empty() && fs::equivalent(f.path, o.compare / compare_name(f.relative), ec)))
      usage("{}: the output would overwrite this input; choose another --output or --compare directory", f.path.string());
  }
  check_output_dir(o.out, "--output");
  if (!o.compare.empty()) check_output_dir(o.compare, "--compare");
  for (const mask_file& f : files) {
    std::error_code ec;
    fs::create_directories((o.out / f.relative).parent_path(), ec);
    if (!ec && !o.compare.empty()) fs::create_directories((o.compare / f.relative).parent_path(), ec);
    if (ec) fail("{}: cannot create the output directory: {}", (o.out / f.relative).parent_path().string(), ec.message());
  }

  if (limit.exceeded()) {
    summary.failed = failures.size();
    return finish(std::move(failures), true, limit.max());
  }

  // 4. Work.
  totals t = process(o, files, op, e, mo, demo ? &*demo : nullptr, limit);
  if (!o.quiet) {
    const double wall = seconds_since(start);
    const double busy = std::max(t.load + t.morph + t.save, 1e-9);
    const auto share = [&](double s) { return fmt::format("{:.3f} s ({:.0f}%)", s, 100 * s / busy); };
    fmt::print("{} masks: {} {}{} -> {} in {:.2f} s ({:.2f} ms/mask)\n", t.masks, o.op, label,
               o.iterations > 1 ? fmt::format(", {} iterations", o.iterations) : "", o.out.string(), wall,
               1e3 * wall / std::max<long long>(t.masks, 1));
    fmt::print("pixels set: {:.2f}% before, {:.2f}% after; {:.2f}% changed\n",
               100.0 * t.on_before / std::max<long long>(t.pixels, 1), 100.0 * t.on_after / std::max<long long>(t.pixels, 1),
               100.0 * t.changed / std::max<long long>(t.pixels, 1));
    fmt::print("time: load {}, {} {}, save{} {}\n", share(t.load), o.op, share(t.morph), o.compare.empty() ? "" : " and compare",
               share(t.save));
    if (!o.compare.empty())
      fmt::print("comparisons (before | after; green kept, orange added, red removed): {}\n", o.compare.string());
  }
  failures.insert(failures.end(), t.failures.begin(), t.failures.end());
  summary.failed = failures.size();  // one per mask: a mask's first failure ends its work
  summary.outputs = std::uint64_t(t.outputs);
  summary.stage_seconds = {{"load", t.load}, {o.op, t.morph}, {o.compare.empty() ? "save" : "save and compare", t.save}};
  return finish(std::move(failures), limit.exceeded(), limit.max());
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"masks: dilate, erode, open, close or take the gradient of segmentation masks, in batches.", "masks"};
  app.footer(
      "Examples:\n"
      "  masks --demo -o out/                                  synthetic person masks, dilated by a 15x15 square\n"
      "  masks masks/ -o grown/ --op dilate --shape square --size 15\n"
      "  masks 'masks/*.png' -o grown/ --shape disk --size 21 --compare cmp/ --images frames/\n"
      "  masks masks/ -o clean/ --op open --shape ellipse --width 9 --height 5 --iterations 2\n"
      "Outputs keep the inputs' relative names (and formats); --compare writes NAME.jpg per mask.\n"
      "Semantics are OpenCV's cv::dilate/erode/morphologyEx (anchor at the centre, border never wins).\n"
      "Failures: with --on-error skip (the default) a mask that cannot be read, decoded or written is skipped and\n"
      "listed in DIR/failures.json; every other mask is written.\n"
      "Exit status: 0 done; 1 an input or output problem, or more failures than --max-failures; 2 a bad command\n"
      "line; 3 done, but some masks failed (DIR/failures.json).");
  app.set_version_flag("--version", std::string("masks (vbatch) ") + vbatch::version_string);

  app.add_option("inputs", o.inputs, "Mask files, directories (searched recursively for .png/.jpg/.jpeg) or quoted globs");
  app.add_option("-o,--output", o.out, "Output directory (created if missing; required); same relative names as the inputs");
  app.add_flag("--demo", o.demo, "Process four synthetic 640x480 person masks (comparisons in OUTPUT/compare unless --compare)")
      ->excludes(app.get_option("inputs"));
  app.add_option("--op", o.op, "Operation: dilate, erode, open, close, gradient, tophat or blackhat")
      ->check(CLI::IsMember({"dilate", "erode", "open", "close", "gradient", "tophat", "blackhat"}))
      ->capture_default_str();
  app.add_option("--shape", o.shape, "Element: square, rect, cross, ellipse (OpenCV's MORPH_ELLIPSE) or disk")
      ->check(CLI::IsMember({"square", "rect", "cross", "ellipse", "disk"}))
      ->capture_default_str();
  auto* size =
      app.add_option("--size", o.size, "Side of a square/cross/ellipse, or a disk's odd diameter 2r+1")->capture_default_str();
  app.add_option("--width", o.width, "Element width (rect, cross, ellipse; with --height)");
  app.add_option("--height", o.height, "Element height (rect, cross, ellipse; with --width)");
  app.add_option("--iterations", o.iterations, "Times to apply the operation (as OpenCV's iterations)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--algorithm", o.algorithm, "automatic, direct, separable, van_herk, segments or packed (results are identical)")
      ->check(CLI::IsMember({"automatic", "direct", "separable", "van_herk", "segments", "packed"}))
      ->capture_default_str();
  app.add_option("--compare", o.compare, "Also write before|after comparison images (JPEG) to this directory");
  app.add_option("--images", o.images, "With --compare: source images, same relative names as the masks (any extension)");
  app.add_option("--threads", o.threads, "CPU threads (0: all cores)")->check(CLI::Range(0, 4096))->capture_default_str();
  app.add_option("--batch", o.batch, "Masks of one size per call")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--quality", o.quality, "JPEG quality of JPEG outputs and comparisons")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--max-pixels", o.max_pixels, "Refuse larger inputs (decompression bombs)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
      ->capture_default_str();
  vbatch_tools::add_failure_options(app, o.failures);
  vbatch_tools::add_fsync_flag(app, o.fsync);
  vbatch_tools::add_shard_option(app, o.shard, "masks");
  vbatch_tools::add_report_option(app, o.report);
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors");

  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  o.size_given = size->count() > 0;

  return vbatch_tools::run_reporting("masks", "out of memory; try a smaller --batch", [&] { return run(o); });
}
