#pragma once
// Watching folders for images that arrive (--watch): which files are ready to read, as soon as
// their writer is done with them, by inotify or, where it cannot see changes, by rescanning.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "files/listing.hpp"

namespace imgflow {

/// A file ready to be read: closed by its writer, renamed into place, or found by a scan with
/// no writer left (FolderWatch::poll).
struct Arrival {
  std::filesystem::path path;      ///< the file
  std::filesystem::path relative;  ///< below its root: its output's path there, extension aside
  std::chrono::steady_clock::time_point at;  ///< when the watch learnt it was ready
};

struct WatchOptions {
  std::vector<std::filesystem::path> roots;  ///< the folders watched (each must be a directory)
  bool recursive = false;                    ///< their subfolders too, new ones included
  bool follow_symlinks = false;              ///< links to folders are followed (recursive only)
  std::vector<std::filesystem::path> skip;   ///< never listed nor watched (the output, --move-input)
  /// Rescan every root this often; 0: only where inotify cannot serve (then every
  /// kDefaultRescan), after an event queue overflow, and when a root comes back.
  std::chrono::seconds rescan_interval{0};
  /// A file a scan finds is taken once its writer has closed it: where that cannot be asked
  /// (another owner's file without CAP_LEASE, a network filesystem), once it has not been
  /// modified for this long.
  std::chrono::seconds settle{2};
};

inline constexpr std::chrono::seconds kDefaultRescan{10};

/// Whether any process has `path` open for writing, asked as the kernel answers it: a read
/// lease (fcntl F_SETLEASE) is refused while one does. nullopt: cannot be asked here (not the
/// file's owner and no CAP_LEASE, a filesystem without leases, the file gone). The lease is held
/// for microseconds; a writer opening the file in that moment makes the kernel send SIGIO, which
/// the caller must ignore (FolderWatch does).
std::optional<bool> open_for_writing(const std::filesystem::path& path);

/// Why inotify cannot see every change under `dir` (a network or FUSE filesystem, where files
/// written by other machines raise no event), or empty.
std::string unwatchable_reason(const std::filesystem::path& dir);

/// The watch: inotify on every root (and, recursive, every folder below, added as they
/// appear), or periodic rescans where inotify cannot serve. It holds no state per file beyond
/// the files it has seen arrive and not yet handed out, and the listing of a scan in progress.
/// Not thread-safe: one thread polls it (the feed's).
class FolderWatch {
 public:
  explicit FolderWatch(WatchOptions options);
  ~FolderWatch();
  FolderWatch(const FolderWatch&) = delete;
  FolderWatch& operator=(const FolderWatch&) = delete;

  /// Appends to `ready` up to `max` files that are ready: first the ones inotify reported
  /// (closed after writing, or renamed in), then those of a scan in progress (the first poll
  /// starts one over what is already there). Waits up to `timeout` when there is none. What the
  /// user must know (inotify unavailable or out of watches, a root gone or back) goes to
  /// `notes`, once each time it happens.
  void poll(std::chrono::milliseconds timeout, std::size_t max, std::vector<Arrival>& ready,
            std::vector<std::string>& notes);

  /// Whether inotify watches the roots (false: rescans only).
  bool watching() const { return inotify_fd_ >= 0; }
  /// Files seen arriving and not yet handed out, plus those left in a scan in progress.
  std::size_t waiting() const;

 private:
  struct Watched {
    std::filesystem::path dir;
    std::filesystem::path relative;  ///< below its root (empty: the root)
    std::size_t root = 0;
    dev_t device = 0;
    ino_t inode = 0;
  };
  struct Scan {
    std::size_t root = 0;
    std::filesystem::path prefix;  ///< the listed folder, below its root
    Listing listing;
    std::size_t next = 0;
  };
  /// How a file came to be looked at: its close (or rename) reported, the same looked at again
  /// moments later, or found by a scan.
  enum class Seen { closed, closed_again, scan };
  struct Settling {
    Arrival arrival;
    Seen seen;
  };

  void start(std::vector<std::string>& notes);
  void stop_inotify(const std::string& why, std::vector<std::string>& notes);
  /// Watches `top` (and, recursive, the folders below it); false once inotify has given up.
  bool watch_tree(const std::filesystem::path& top, std::size_t root, const std::filesystem::path& relative,
                  std::vector<std::string>& notes);
  void read_events(std::vector<std::string>& notes, std::vector<Arrival>& found);
  void forget_tree(const std::filesystem::path& dir);
  void queue_scan(const std::filesystem::path& dir, std::size_t root, const std::filesystem::path& relative);
  void rescan_all();
  bool skipped(const std::filesystem::path& path) const;
  /// Appends `path` to `ready` if it is an image file no writer has open; a file a scan found
  /// whose writers cannot be asked about is held until it has settled.
  void take(std::filesystem::path path, std::filesystem::path relative, Seen seen, std::vector<Arrival>& ready);
  void check_roots(std::vector<std::string>& notes);

  WatchOptions options_;
  bool started_ = false;
  int inotify_fd_ = -1;
  bool rescans_ = false;  ///< periodic rescans (inotify cannot serve, or asked for)
  std::chrono::seconds interval_{0};
  std::chrono::steady_clock::time_point next_rescan_{};
  std::unordered_map<int, Watched> watches_;
  std::vector<bool> root_present_;
  std::deque<Arrival> arrived_;         ///< reported by inotify, not yet handed out
  /// Files to look at again, by when: found by a scan but written to moments ago, or still
  /// open for writing just after their close event.
  std::multimap<std::chrono::steady_clock::time_point, Settling> settling_;
  std::unordered_set<std::string> known_;  ///< the paths in arrived_ and settling_ (none queued twice)
  std::deque<Scan> scans_;              ///< folders to list (a scan in progress first)
};

}  // namespace imgflow
