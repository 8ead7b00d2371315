#include "store/master_key.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

namespace abis {
namespace {

// A key file is a few dozen bytes; anything much larger is not one.
constexpr std::size_t kMaxKeyFileBytes = 256;
constexpr std::size_t kHexKeyChars = 2 * SecretKey::kSize;

void EnsureSodium() {
  // sodium_init is idempotent and thread-safe; without it there is no safe
  // randomness or secure memory.
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) std::abort();
}

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

Status ErrnoStatus(int error, const std::string& what) {
  std::string message = what + ": " + std::strerror(error);
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(std::move(message));
    default:
      return UnavailableError(std::move(message));
  }
}

// Secret bytes of any size, for key text on its way in or out.
class SecretBuffer {
 public:
  explicit SecretBuffer(std::size_t size)
      : data_(static_cast<char*>(sodium_malloc(size == 0 ? 1 : size))), size_(size) {}
  ~SecretBuffer() {
    if (data_ != nullptr) sodium_free(data_);
  }
  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;

  bool ok() const { return data_ != nullptr; }
  char* data() { return data_; }
  std::size_t size() const { return size_; }

 private:
  char* data_;
  std::size_t size_;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error a deferred write may surface here.
  int Close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

Status SyncDirectoryOf(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  FileDescriptor dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return ErrnoStatus(errno, "cannot open folder " + Quoted(parent.string()));
  if (::fsync(dir.get()) != 0) {
    return ErrnoStatus(errno, "cannot sync folder " + Quoted(parent.string()));
  }
  return Status::Ok();
}

}  // namespace

void SecretKey::SodiumFree::operator()(std::uint8_t* bytes) const { sodium_free(bytes); }

Result<SecretKey> SecretKey::Allocate() {
  EnsureSodium();
  auto* bytes = static_cast<std::uint8_t*>(sodium_malloc(kSize));
  if (bytes == nullptr) return ResourceExhaustedError("cannot allocate secure memory for a key");
  return SecretKey(std::unique_ptr<std::uint8_t, SodiumFree>(bytes));
}

Result<SecretKey> SecretKey::Random() {
  ABIS_ASSIGN_OR_RETURN(SecretKey key, Allocate());
  randombytes_buf(key.bytes_.get(), kSize);
  return key;
}

Result<SecretKey> SecretKey::FromBytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kSize) {
    return InvalidArgumentError("a key is " + std::to_string(kSize) + " bytes, not " +
                                std::to_string(bytes.size()));
  }
  ABIS_ASSIGN_OR_RETURN(SecretKey key, Allocate());
  std::memcpy(key.bytes_.get(), bytes.data(), kSize);
  return key;
}

Result<SecretKey> ParseMasterKey(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  ABIS_ASSIGN_OR_RETURN(SecretKey key, SecretKey::Random());
  std::span<std::uint8_t, SecretKey::kSize> out = key.mutable_bytes();
  std::size_t decoded = 0;
  if (text.size() == kHexKeyChars &&
      sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &decoded,
                     nullptr) == 0 &&
      decoded == SecretKey::kSize) {
    return key;
  }
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    decoded = 0;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &decoded,
                          nullptr, variant) == 0 &&
        decoded == SecretKey::kSize) {
      return key;
    }
  }
  return InvalidArgumentError("a master key must be 64 hex digits or base64 of 32 bytes");
}

Result<SecretKey> LoadMasterKeyFile(const std::string& path) {
  EnsureSodium();
  const std::string what = "key file " + Quoted(path);
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return ErrnoStatus(errno, "cannot open " + what);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return ErrnoStatus(errno, "cannot stat " + what);
  if (!S_ISREG(info.st_mode)) return FailedPreconditionError(what + " is not a regular file");
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return FailedPreconditionError(what + " has mode " + ModeText(info.st_mode) +
                                   ", which lets group or others access the master key; run"
                                   " `chmod 600 " +
                                   path + "` (owner read/write only)");
  }
  if (static_cast<std::size_t>(info.st_size) > kMaxKeyFileBytes) {
    return InvalidArgumentError(what + " is too large to hold a master key");
  }
  SecretBuffer text(kMaxKeyFileBytes + 1);
  if (!text.ok()) return ResourceExhaustedError("cannot allocate secure memory for a key");
  std::size_t size = 0;
  while (size <= kMaxKeyFileBytes) {
    const ssize_t got = ::read(fd.get(), text.data() + size, text.size() - size);
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read " + what);
    }
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
  }
  if (size > kMaxKeyFileBytes) return InvalidArgumentError(what + " is too large to hold a key");
  Result<SecretKey> key = ParseMasterKey(std::string_view(text.data(), size));
  if (!key.ok()) return key.status().WithContext(what);
  return key;
}

Result<SecretKey> CreateMasterKeyFile(const std::string& path) {
  EnsureSodium();
  const std::string what = "key file " + Quoted(path);
  ABIS_ASSIGN_OR_RETURN(SecretKey key, SecretKey::Random());
  SecretBuffer text(kHexKeyChars + 2);
  if (!text.ok()) return ResourceExhaustedError("cannot allocate secure memory for a key");
  sodium_bin2hex(text.data(), kHexKeyChars + 1, key.bytes().data(), key.bytes().size());
  text.data()[kHexKeyChars] = '\n';

  // mkstemp creates the file with mode 0600 whatever the umask; fchmod makes
  // that explicit. The key reaches its name only once complete and synced.
  std::string temp_path = path + ".tmp-XXXXXX";
  FileDescriptor fd(::mkstemp(temp_path.data()));
  if (fd.get() < 0) return ErrnoStatus(errno, "cannot create " + what);
  struct TempFileRemover {
    const std::string& path;
    ~TempFileRemover() { ::unlink(path.c_str()); }
  } remover{temp_path};
  if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) {
    return ErrnoStatus(errno, "cannot set the mode of " + what);
  }
  std::size_t written = 0;
  while (written < kHexKeyChars + 1) {
    const ssize_t put = ::write(fd.get(), text.data() + written, kHexKeyChars + 1 - written);
    if (put < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write " + what);
    }
    written += static_cast<std::size_t>(put);
  }
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "cannot sync " + what);
  if (fd.Close() != 0) return ErrnoStatus(errno, "cannot write " + what);
  // link() never replaces an existing file, unlike rename().
  if (::link(temp_path.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return AlreadyExistsError(what + " already exists");
    return ErrnoStatus(errno, "cannot create " + what);
  }
  ABIS_RETURN_IF_ERROR(SyncDirectoryOf(path));
  return key;
}

Result<LoadedMasterKey> LoadOrCreateMasterKeyFile(const std::string& path) {
  Result<SecretKey> loaded = LoadMasterKeyFile(path);
  if (loaded.ok()) return LoadedMasterKey{std::move(loaded).value(), false};
  if (loaded.status().code() != StatusCode::kNotFound) return loaded.status();
  Result<SecretKey> created = CreateMasterKeyFile(path);
  if (created.ok()) return LoadedMasterKey{std::move(created).value(), true};
  if (created.status().code() != StatusCode::kAlreadyExists) return created.status();
  // Another process created it first: use theirs.
  ABIS_ASSIGN_OR_RETURN(SecretKey key, LoadMasterKeyFile(path));
  return LoadedMasterKey{std::move(key), false};
}

Result<ResolvedMasterKey> ResolveMasterKey(const std::string& database_path,
                                           const MasterKeySource& source) {
  if (database_path == ":memory:") {
    ABIS_ASSIGN_OR_RETURN(SecretKey key, SecretKey::Random());
    return ResolvedMasterKey{std::move(key), "an ephemeral key (in-memory store)", ""};
  }
  if (!source.key_text.empty()) {
    Result<SecretKey> key = ParseMasterKey(source.key_text);
    if (!key.ok()) return key.status().WithContext("master key value");
    return ResolvedMasterKey{std::move(key).value(), "the given master key value", ""};
  }
  const std::string path = source.key_path.empty() ? database_path + ".key" : source.key_path;
  ABIS_ASSIGN_OR_RETURN(LoadedMasterKey loaded, LoadOrCreateMasterKeyFile(path));
  return ResolvedMasterKey{std::move(loaded.key), "key file " + Quoted(path),
                           loaded.created ? path : std::string()};
}

}  // namespace abis
