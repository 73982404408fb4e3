#pragma once
#include <cstddef>

namespace imgflow {

/// Makes room for `bytes` in a buffer that a pool hands from image to image (files read, PNGs
/// written): nothing when it has the room, else one allocation with a quarter to spare, so that
/// the next, somewhat larger image fits as it is. Filling a buffer at once rather than growing it
/// avoids a second allocation and a copy, and every new buffer is page-faulted on first touch
/// (about 10 us a 4 KiB page on the VMs here: docs/benchmark.md).
template <typename Buffer>
void reserve_for_reuse(Buffer& buffer, std::size_t bytes) {
  if (buffer.capacity() < bytes) buffer.reserve(bytes + bytes / 4);
}

}  // namespace imgflow
