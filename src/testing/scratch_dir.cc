#include "testing/scratch_dir.h"

#include <array>
#include <cstdio>
#include <filesystem>

#include <stdlib.h>
#include <sys/wait.h>

namespace abis::testing {

namespace fs = std::filesystem;

ScratchDir::ScratchDir(std::string_view prefix) {
  std::string pattern =
      (fs::temp_directory_path() / ("abis_" + std::string(prefix) + "_XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("ScratchDir: mkdtemp");
    std::abort();
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  if (keep_) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string ScratchDir::File(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

CommandRun RunCommand(const std::string& command) {
  CommandRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 1 << 16> buffer{};
  std::size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    run.output.append(buffer.data(), got);
  }
  const int status = ::pclose(pipe);
  run.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace abis::testing
