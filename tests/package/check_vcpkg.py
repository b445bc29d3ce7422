#!/usr/bin/env python3
"""Checks the vcpkg overlay port (ports/vbatch) and the root manifest (vcpkg.json) without vcpkg:
JSON that parses, the fields vcpkg requires, the version of CMakeLists.txt (core/config.hpp and the
Doxyfile must agree),
the features the portfile maps to CMake options, and dependency names as vcpkg's registry spells
them. Usage: check_vcpkg.py <vbatch source dir>. Exit status 1 with every problem listed."""
import json
import re
import sys
from pathlib import Path

# Ports of microsoft/vcpkg's registry that vbatch may depend on (names checked there by hand).
REGISTRY = {"stb", "libjpeg-turbo", "libpng", "nlohmann-json", "cuda", "vcpkg-cmake", "vcpkg-cmake-config",
            "fmt", "cli11", "gtest", "benchmark", "opencv4"}
NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")  # vcpkg's identifier rule

root = Path(sys.argv[1])
problems = []


def dependency_names(deps, where):
    names = []
    for d in deps:
        name = d if isinstance(d, str) else d.get("name")
        if not isinstance(name, str):
            problems.append(f"{where}: a dependency without a name: {d!r}")
            continue
        if name not in REGISTRY:
            problems.append(f"{where}: '{name}' is not a vcpkg port vbatch knows (stb, libjpeg-turbo, libpng, nlohmann-json, cuda, ...)")
        names.append(name)
    return names


def check_manifest(path):
    try:
        m = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        problems.append(f"{path}: {e}")
        return {}
    if m.get("name") != "vbatch":
        problems.append(f"{path}: name is {m.get('name')!r}, not 'vbatch'")
    versions = [k for k in ("version", "version-semver", "version-string", "version-date") if k in m]
    if versions != ["version"]:
        problems.append(f"{path}: needs exactly one version field, 'version' (found {versions})")
    elif m["version"] != project_version:
        problems.append(f"{path}: version {m['version']} but CMakeLists.txt says {project_version}")
    for key in m:
        if key not in {"$comment", "name", "version", "description", "license", "supports", "homepage", "dependencies",
                       "default-features", "features"}:
            problems.append(f"{path}: unexpected field '{key}'")
    dependency_names(m.get("dependencies", []), f"{path} dependencies")
    for feature, body in m.get("features", {}).items():
        if not NAME.match(feature):
            problems.append(f"{path}: feature name '{feature}' is not a vcpkg identifier")
        if not body.get("description"):
            problems.append(f"{path}: feature '{feature}' has no description")
        dependency_names(body.get("dependencies", []), f"{path} feature {feature}")
    for feature in m.get("default-features", []):
        if feature not in m.get("features", {}):
            problems.append(f"{path}: default feature '{feature}' is not a feature")
    return m


project_version = re.search(r"project\(vbatch VERSION ([0-9.]+)", (root / "CMakeLists.txt").read_text()).group(1)
header_version = re.search(r'#define VBATCH_VERSION_STRING "([0-9.]+)"', (root / "include/vbatch/core/config.hpp").read_text()).group(1)
if header_version != project_version:
    problems.append(f"core/config.hpp says {header_version}, CMakeLists.txt {project_version}")
doxygen_version = re.search(r"^PROJECT_NUMBER\s*=\s*(\S+)", (root / "Doxyfile").read_text(), re.M).group(1)
if doxygen_version != project_version:  # the API reference's title
    problems.append(f"Doxyfile says {doxygen_version}, CMakeLists.txt {project_version}")

port = check_manifest(root / "ports/vbatch/vcpkg.json")
check_manifest(root / "vcpkg.json")

# The port: the codecs and CUDA as features, stb and nlohmann-json always (vbatch::io).
port_deps = dependency_names(port.get("dependencies", []), "port")
for needed in ("stb", "nlohmann-json"):
    if needed not in port_deps:
        problems.append(f"port: vbatch::io needs '{needed}' as a dependency")
wanted = {"cuda": "cuda", "turbojpeg": "libjpeg-turbo", "png": "libpng"}
for feature, dep in wanted.items():
    deps = dependency_names(port.get("features", {}).get(feature, {}).get("dependencies", []), f"port feature {feature}")
    if dep not in deps:
        problems.append(f"port: feature '{feature}' must depend on '{dep}'")

# Every feature of the port reaches CMake through vcpkg_check_features, and only features.
portfile = (root / "ports/vbatch/portfile.cmake").read_text()
block = re.search(r"vcpkg_check_features\((.*?)\)", portfile, re.S)
mapped = set(re.findall(r"^\s+([a-z0-9-]+)\s+VBATCH_[A-Z_]+\s*$", block.group(1), re.M)) if block else set()
if mapped != set(port.get("features", {})):
    problems.append(f"portfile maps features {sorted(mapped)}, vcpkg.json declares {sorted(port.get('features', {}))}")
for option in re.findall(r"VBATCH_[A-Z_]+", block.group(1) if block else ""):
    if option not in (root / "CMakeLists.txt").read_text() + (root / "cmake/vbatchFindCodecs.cmake").read_text():
        problems.append(f"portfile: {option} is not an option of vbatch's CMake")
for needed in ("vcpkg_cmake_configure", "vcpkg_cmake_install", "vcpkg_cmake_config_fixup(CONFIG_PATH share/vbatch)",
               "-DVBATCH_INSTALL_CMAKEDIR=share/vbatch", "vcpkg_install_copyright"):
    if needed not in portfile:
        problems.append(f"portfile: no {needed}")
if not (root / "ports/vbatch/usage").is_file():
    problems.append("port: no usage file")

for p in problems:
    print("vcpkg:", p)
print(f"vcpkg port and manifest: version {project_version}, features {sorted(port.get('features', {}))}: "
      + ("OK" if not problems else f"{len(problems)} problem(s)"))
sys.exit(1 if problems else 0)
