#pragma once
// Camera files: the cameras of a rig written as JSON (link vbatch::io, which brings nlohmann_json).
//
//   {"cameras": [{"yaw": 0, "pitch": 10, "hfov": 90}, {"yaw": 120, "roll": 5, "hfov": 100, "vfov": 80}],
//    "width": 1600, "height": 1200, "convention": "py360convert"}
//
//   vbatch::io::camera_file f = vbatch::io::read_camera_file("rig.json");
//
// Angles and FOVs are in degrees; a missing angle is 0. The FOVs, the size and the convention may
// be left out: the caller supplies its defaults. Reading is strict and every error names the file
// (and the camera, "rig.json: cameras[2]: ..."): unknown keys are errors, so that a typo ("fov")
// does not silently become a default. What the file alone decides is checked here (types, a
// non-empty camera list, a size from 1 to max_side); whether the angles and FOVs make a camera is
// checked where the cameras are made (sample::can_make_camera), as is the convention's name
// (sample::find_convention).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vbatch/core/error.hpp"
#include "vbatch/core/file.hpp"
#include "vbatch/io/format.hpp"

namespace vbatch::inline v0::io {

struct camera_entry {
  double yaw_deg = 0, pitch_deg = 0, roll_deg = 0;
  std::optional<double> hfov_deg, vfov_deg;
};

struct camera_file {
  std::vector<camera_entry> cameras;      // at least one
  std::optional<int> width, height;       // of every view
  std::optional<std::string> convention;  // a convention's name, as written
};

// Parses the JSON `text`; `source` names it in messages.
inline camera_file parse_camera_file(std::string_view text, std::string_view source, int max_side = image_limits{}.max_side) {
  using json = nlohmann::json;
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    raise(errc::corrupt_data, "{}: not valid JSON: {}", source, e.what());
  }
  if (!doc.is_object() || !doc.contains("cameras") || !doc["cameras"].is_array() || doc["cameras"].empty())
    raise(errc::corrupt_data, "{}: expected an object with a non-empty \"cameras\" array", source);
  for (const auto& [key, value] : doc.items())
    if (key != "cameras" && key != "width" && key != "height" && key != "convention")
      raise(errc::corrupt_data, "{}: unknown key \"{}\" (expected cameras, width, height, convention)", source, key);

  camera_file file;
  const auto side = [&](const char* key) -> std::optional<int> {
    if (!doc.contains(key)) return std::nullopt;
    const json& v = doc[key];
    if (!v.is_number_integer() || v.get<std::int64_t>() <= 0 || v.get<std::int64_t>() > max_side)
      raise(errc::invalid_argument, "{}: \"{}\" must be a positive integer up to {}, got {}", source, key, max_side, v.dump());
    return v.get<int>();
  };
  file.width = side("width");
  file.height = side("height");
  if (doc.contains("convention")) {
    if (!doc["convention"].is_string())
      raise(errc::corrupt_data, "{}: \"convention\" must be a name, got {}", source, doc["convention"].dump());
    file.convention = doc["convention"].get<std::string>();
  }

  const json& cameras = doc["cameras"];
  for (std::size_t k = 0; k < cameras.size(); ++k) {
    const json& cam = cameras[k];
    if (!cam.is_object()) raise(errc::corrupt_data, "{}: cameras[{}] must be an object, got {}", source, k, cam.dump());
    for (const auto& [key, value] : cam.items())
      if (key != "yaw" && key != "pitch" && key != "roll" && key != "hfov" && key != "vfov")
        raise(errc::corrupt_data, "{}: cameras[{}]: unknown key \"{}\" (expected yaw, pitch, roll, hfov, vfov)", source, k, key);
    const auto number = [&](const char* key) -> std::optional<double> {
      if (!cam.contains(key)) return std::nullopt;
      if (!cam[key].is_number())
        raise(errc::corrupt_data, "{}: cameras[{}].{} must be a number, got {}", source, k, key, cam[key].dump());
      return cam[key].get<double>();
    };
    file.cameras.push_back(
        {number("yaw").value_or(0), number("pitch").value_or(0), number("roll").value_or(0), number("hfov"), number("vfov")});
  }
  return file;
}

// Reads and parses a camera file. Throws vbatch::error naming the file: errc::io when it cannot be
// read, errc::corrupt_data or errc::invalid_argument for its content.
inline camera_file read_camera_file(const std::filesystem::path& path, int max_side = image_limits{}.max_side) {
  return parse_camera_file(read_text_file(path), path.string(), max_side);
}

}  // namespace vbatch::inline v0::io
