// Defines AtomicFileWriter: writes a file under a temporary name in the target's folder, then
// fsyncs and renames it over the target in one step, so readers see the old file or the whole new
// one, never a torn write.
#pragma once
#include <cstddef>
#include <string>

namespace cuttle::engine {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);  // creates the temporary file
  ~AtomicFileWriter();                                  // removes it when commit() was not reached
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t n);
  // fsync, close, rename onto the target, fsync the folder.
  void commit();
  const std::string& path() const { return path_; }

 private:
  void abandon() noexcept;
  std::string path_, tmp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes `text` to `path` through an AtomicFileWriter.
void write_file_atomic(const std::string& path, const std::string& text);
// fsyncs a folder so that the entries created or renamed in it survive a crash.
void fsync_directory(const std::string& dir);

}  // namespace cuttle::engine
