#pragma once
// ThreadSanitizer annotations for the hand-offs oneTBB makes inside libtbb.so, which Debian
// ships uninstrumented: TSan cannot see that a task's spawn happens before its body runs, nor
// that every body happens before wait_for_all() returns, and would report the data handed over
// as racing. release(token) before a hand-off and acquire(token) after it state that edge.
// Everything compiles to nothing outside a TSan build.
#if defined(__SANITIZE_THREAD__)
#define IMGFLOW_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IMGFLOW_TSAN 1
#endif
#endif

#if defined(IMGFLOW_TSAN)
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace imgflow::tsan {

#if defined(IMGFLOW_TSAN)
inline void release(const void* token) { __tsan_release(const_cast<void*>(token)); }
inline void acquire(const void* token) { __tsan_acquire(const_cast<void*>(token)); }
#else
inline void release(const void*) {}
inline void acquire(const void*) {}
#endif

/// Releases `token` when the scope ends, whichever way it ends.
struct ReleaseOnExit {
  const void* token;
  explicit ReleaseOnExit(const void* t) : token(t) {}
  ReleaseOnExit(const ReleaseOnExit&) = delete;
  ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;
  ~ReleaseOnExit() { release(token); }
};

}  // namespace imgflow::tsan
