# Conan 2 recipe: vbatch as a header-library package with components
#   core  the headers (C++20, threads)
#   io    image files: stb and nlohmann_json, and libjpeg-turbo / libpng (options with_turbojpeg,
#         with_libpng)
#   cuda  the CUDA layer (option with_cuda): the CUDA toolkit and its CCCL come from the system;
#         nvcc is named by -c 'tools.build:compiler_executables={"cuda": "/usr/local/cuda/bin/nvcc"}'
#
#   conan create . -pr:a conan/profiles/system     # offline, with Debian's packages (see the profile)
#
# CMake consumers get vbatch's own installed config (share/cmake/vbatch, the one find_package uses
# for any install): it checks the codecs the package was built with, and compiles stb's
# implementation when stb comes as headers only, as Conan's stb does. The components below serve
# the other generators (PkgConfigDeps, MSBuildDeps, ...).
import os
import re

from conan import ConanFile
from conan.errors import ConanException
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load


class VbatchConan(ConanFile):
    name = "vbatch"
    description = "Header-only C++20 parts for batched image pipelines on CPUs and NVIDIA GPUs"
    license = "MIT"
    topics = ("image-processing", "360", "batch", "cuda", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"with_turbojpeg": [True, False], "with_libpng": [True, False], "with_cuda": [True, False]}
    default_options = {"with_turbojpeg": True, "with_libpng": True, "with_cuda": False}
    exports_sources = "CMakeLists.txt", "LICENSE", "cmake/*", "include/*"
    no_copy_source = True

    def set_version(self):
        # One version: project(vbatch VERSION ...) in CMakeLists.txt.
        text = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        self.version = re.search(r"project\(vbatch VERSION ([0-9.]+)", text).group(1)

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        self.requires("stb/cci.20230920")
        self.requires("nlohmann_json/[>=3.11 <4]")
        if self.options.with_turbojpeg:
            self.requires("libjpeg-turbo/[>=2.1 <4]")
        if self.options.with_libpng:
            self.requires("libpng/[>=1.6 <2]")

    def validate(self):
        check_min_cppstd(self, 20)

    def generate(self):
        # Nothing is compiled: the build only configures and installs headers and CMake files.
        tc = CMakeToolchain(self)
        for name in ("TESTS", "EXAMPLES", "BENCHMARKS"):
            tc.cache_variables[f"VBATCH_BUILD_{name}"] = False
        tc.cache_variables["VBATCH_WITH_TURBOJPEG"] = bool(self.options.with_turbojpeg)
        tc.cache_variables["VBATCH_REQUIRE_TURBOJPEG"] = bool(self.options.with_turbojpeg)
        tc.cache_variables["VBATCH_WITH_LIBPNG"] = bool(self.options.with_libpng)
        tc.cache_variables["VBATCH_REQUIRE_LIBPNG"] = bool(self.options.with_libpng)
        tc.cache_variables["VBATCH_ENABLE_CUDA"] = bool(self.options.with_cuda)
        if self.options.with_cuda:
            # Conan's C++20 reaches CMake's nvcc check as CUDA20, which CMake 3.25 cannot spell for
            # nvcc; only that check compiles CUDA here (vbatch::cuda passes -std=c++20 itself).
            tc.cache_variables["CMAKE_CUDA_STANDARD"] = "17"
        tc.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        CMake(self).install()
        if not os.path.exists(os.path.join(self.package_folder, "share", "cmake", "vbatch", "vbatchIoTargets.cmake")):
            raise ConanException("vbatch::io was not built: stb or nlohmann_json not found by CMake")

    def package_id(self):
        self.info.settings.clear()  # headers only; the options (codecs, CUDA) stay in the id

    def package_info(self):
        self.cpp_info.set_property("cmake_find_mode", "none")  # vbatch's own config, see above
        core = self.cpp_info.components["core"]
        core.bindirs = []
        core.libdirs = []
        # On the consumer's CMAKE_PREFIX_PATH: find_package(vbatch CONFIG) finds vbatchConfig.cmake.
        # (With components, Conan reads builddirs from them, not from the package's cpp_info.)
        core.builddirs = [os.path.join("share", "cmake", "vbatch")]
        core.set_property("pkg_config_name", "vbatch")
        if self.settings.os in ("Linux", "FreeBSD"):
            core.system_libs = ["pthread"]

        io = self.cpp_info.components["io"]
        io.bindirs = []
        io.libdirs = []
        io.set_property("pkg_config_name", "vbatch-io")
        io.requires = ["core", "stb::stb", "nlohmann_json::nlohmann_json"]
        if self.options.with_turbojpeg:
            io.requires.append("libjpeg-turbo::turbojpeg")
            io.defines.append("VBATCH_HAVE_TURBOJPEG=1")
        if self.options.with_libpng:
            io.requires.append("libpng::libpng")
            io.defines.append("VBATCH_HAVE_LIBPNG=1")

        if self.options.with_cuda:
            cuda = self.cpp_info.components["cuda"]
            cuda.bindirs = []
            cuda.libdirs = []
            cuda.requires = ["core"]  # + the system's CUDA runtime and CCCL, found by vbatch's config
