// scratch_dir.h
//
// Test support: a private scratch folder and a way to run a command.
// ctest runs every test case in its own process, many at once, so a test
// must never use a fixed path under /tmp: two processes would race on it.
// ScratchDir makes a fresh folder per instance (mkdtemp) and removes it.

#ifndef ABIS_TESTING_SCRATCH_DIR_H_
#define ABIS_TESTING_SCRATCH_DIR_H_

#include <string>
#include <string_view>

namespace abis::testing {

class ScratchDir {
 public:
  // Makes <tmp>/abis_<prefix>_XXXXXX; aborts the test process if it cannot.
  explicit ScratchDir(std::string_view prefix = "test");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name; does not create anything.
  std::string File(std::string_view name) const;
  // Leaves the folder in place (for post-mortem of a failed test).
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

struct CommandRun {
  // The exit status, or -1 when the command could not start or was killed.
  int exit_code = -1;
  // Everything the command wrote to standard output.
  std::string output;
};

// Runs `command` with /bin/sh and captures its standard output.
CommandRun RunCommand(const std::string& command);

}  // namespace abis::testing

#endif  // ABIS_TESTING_SCRATCH_DIR_H_
