#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "engine/error.h"

namespace cuttle::engine {

namespace {
std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::string& path) : path_(path) {
  CUTTLE_CHECK(!path.empty(), "AtomicFileWriter: empty path");
  std::string templ = path + ".tmp-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  fd_ = ::mkstemp(buf.data());
  CUTTLE_CHECK(fd_ >= 0, "cannot create a temporary file next to '", path, "': ", std::strerror(errno));
  tmp_path_ = buf.data();
  ::fchmod(fd_, 0644);  // mkstemp makes 0600; weights files are ordinary readable files
}

AtomicFileWriter::~AtomicFileWriter() {
  if (!committed_) abandon();
}

void AtomicFileWriter::abandon() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t n) {
  CUTTLE_CHECK(fd_ >= 0, "AtomicFileWriter: '", path_, "' is already committed");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    CUTTLE_CHECK(w > 0, "writing '", tmp_path_, "' (for '", path_, "') failed: ", std::strerror(errno));
    p += w;
    n -= size_t(w);
  }
}

void AtomicFileWriter::commit() {
  CUTTLE_CHECK(fd_ >= 0, "AtomicFileWriter: '", path_, "' is already committed");
  CUTTLE_CHECK(::fsync(fd_) == 0, "fsync of '", tmp_path_, "' failed: ", std::strerror(errno));
  int rc = ::close(fd_);
  fd_ = -1;
  CUTTLE_CHECK(rc == 0, "closing '", tmp_path_, "' failed: ", std::strerror(errno));
  CUTTLE_CHECK(::rename(tmp_path_.c_str(), path_.c_str()) == 0, "renaming '", tmp_path_, "' to '", path_,
               "' failed: ", std::strerror(errno));
  committed_ = true;
  // Make the rename itself durable.
  fsync_directory(parent_dir(path_));
}

void write_file_atomic(const std::string& path, const std::string& text) {
  AtomicFileWriter w(path);
  w.write(text.data(), text.size());
  w.commit();
}

void fsync_directory(const std::string& dir) {
  // A folder that cannot be opened (rare) only loses the durability guarantee.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace cuttle::engine
