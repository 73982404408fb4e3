#pragma once
// libtiff on a memory buffer, for the TIFF decoder and encoder alike: read from a span, or
// (opened for writing) written into a growing Bytes. TIFFClientOpen takes these procs.
#include <tiffio.h>

#include <span>

#include "codec/bytes.hpp"

namespace imgflow::tiff_memory {

struct File {
  std::span<const std::uint8_t> bytes;  ///< what is read (for writing: `*growing`, kept in step)
  Bytes* growing = nullptr;             ///< set when writing
  toff_t position = 0;
};

/// For a file to read `bytes`; for one written into `out` (replacing its contents).
inline File reading(std::span<const std::uint8_t> bytes) { return {bytes}; }
inline File writing(Bytes& out) {
  out.clear();
  return {{}, &out};
}

tmsize_t read_proc(thandle_t handle, void* out, tmsize_t size);
tmsize_t write_proc(thandle_t handle, void* data, tmsize_t size);  ///< -1 unless writing
toff_t seek_proc(thandle_t handle, toff_t offset, int whence);
int close_proc(thandle_t handle);
toff_t size_proc(thandle_t handle);
int map_proc(thandle_t handle, void** base, toff_t* size);  ///< maps only a file being read
void unmap_proc(thandle_t handle, void* base, toff_t size);

}  // namespace imgflow::tiff_memory
