#include "codec/tiff_memory.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace imgflow::tiff_memory {

tmsize_t read_proc(thandle_t handle, void* out, tmsize_t size) {
  auto* file = static_cast<File*>(handle);
  if (size <= 0 || file->position >= file->bytes.size()) return 0;
  const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(size), file->bytes.size() - file->position);
  std::memcpy(out, file->bytes.data() + file->position, n);
  file->position += n;
  return static_cast<tmsize_t>(n);
}

tmsize_t write_proc(thandle_t handle, void* data, tmsize_t size) {
  auto* file = static_cast<File*>(handle);
  if (!file->growing || size < 0) return -1;
  Bytes& bytes = *file->growing;
  const std::size_t end = file->position + static_cast<std::size_t>(size), old_size = bytes.size();
  if (end > old_size) {
    bytes.resize(end);  // Bytes leaves new bytes uninitialised: zero the gap libtiff skipped
    if (file->position > old_size)  // by seeking past the end (a value's pad byte)
      std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(old_size), bytes.begin() + static_cast<std::ptrdiff_t>(file->position),
                std::uint8_t{0});
  }
  std::memcpy(bytes.data() + file->position, data, static_cast<std::size_t>(size));
  file->position = end;
  file->bytes = bytes;
  return size;
}

toff_t seek_proc(thandle_t handle, toff_t offset, int whence) {
  auto* file = static_cast<File*>(handle);
  toff_t base = 0;
  if (whence == SEEK_CUR) base = file->position;
  if (whence == SEEK_END) base = file->bytes.size();
  file->position = base + offset;
  return file->position;
}

int close_proc(thandle_t) { return 0; }

toff_t size_proc(thandle_t handle) { return static_cast<File*>(handle)->bytes.size(); }

int map_proc(thandle_t handle, void** base, toff_t* size) {
  auto* file = static_cast<File*>(handle);
  if (file->growing) return 0;
  *base = const_cast<std::uint8_t*>(file->bytes.data());
  *size = file->bytes.size();
  return 1;
}

void unmap_proc(thandle_t, void*, toff_t) {}

}  // namespace imgflow::tiff_memory
