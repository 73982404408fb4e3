#include "files/watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace imgflow {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

bool hidden(const fs::path& path) { return is_hidden(path.filename().string()); }

std::string max_user_watches() {
  std::ifstream in("/proc/sys/fs/inotify/max_user_watches");
  std::string value;
  in >> value;
  return value.empty() ? "?" : value;
}

}  // namespace

std::optional<bool> open_for_writing(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  std::optional<bool> answer;
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
    ::fcntl(fd, F_SETLEASE, F_UNLCK);
    answer = false;
  } else if (errno == EAGAIN || errno == EBUSY) {
    answer = true;
  }
  ::close(fd);
  return answer;
}

std::string unwatchable_reason(const fs::path& dir) {
  struct statfs info {};
  if (::statfs(dir.c_str(), &info) != 0) return {};
  // Filesystems whose files other machines write (or whose changes come from elsewhere without
  // passing through this kernel): inotify sees only what this machine does there.
  static constexpr std::pair<unsigned long, const char*> kRemote[] = {
      {0x6969, "NFS"},           {0xFF534D42, "CIFS"},    {0xFE534D42, "SMB2"},      {0x517B, "SMB"},
      {0x65735546, "FUSE"},      {0x01021997, "9p"},      {0x00C36400, "CephFS"},    {0x5346414F, "AFS"},
      {0x6B414653, "AFS"},       {0x73757245, "Coda"},    {0x0BD00BD0, "Lustre"},    {0x47504653, "GPFS"},
      {0x7461636F, "OCFS2"},     {0x01161970, "GFS2"},    {0x19830326, "BeeGFS"},    {0xAAD7AAEA, "PanFS"},
  };
  const auto type = static_cast<unsigned long>(static_cast<unsigned int>(info.f_type));
  for (const auto& [magic, name] : kRemote)
    if (type == magic) return fmt::format("{} is on {}, where inotify does not see files written by other machines", dir.string(), name);
  return {};
}

FolderWatch::FolderWatch(WatchOptions options) : options_(std::move(options)) {
  root_present_.assign(options_.roots.size(), true);
}

FolderWatch::~FolderWatch() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

std::size_t FolderWatch::waiting() const {
  std::size_t n = arrived_.size() + settling_.size();
  for (const Scan& scan : scans_) n += scan.listing.files.size() - scan.next;
  return n;
}

bool FolderWatch::skipped(const fs::path& path) const {
  std::error_code ec;
  for (const fs::path& dir : options_.skip)
    if (fs::equivalent(path, dir, ec)) return true;
  return false;
}

void FolderWatch::start(std::vector<std::string>& notes) {
  started_ = true;
  // A writer opening a file in the moment open_for_writing holds its lease makes the kernel
  // signal the lease's holder (SIGIO, whose default action ends the process): ignored.
  ::signal(SIGIO, SIG_IGN);
  interval_ = options_.rescan_interval.count() ? options_.rescan_interval : kDefaultRescan;
  rescans_ = options_.rescan_interval.count() > 0;
  for (const fs::path& root : options_.roots)
    if (const std::string reason = unwatchable_reason(root); !reason.empty()) {
      notes.push_back(fmt::format("{}: rescanning every {} s (--rescan-interval)", reason, interval_.count()));
      rescans_ = true;
    }
  // IMGFLOW_WATCH_NO_INOTIFY=1 makes the watch do without, as where inotify is missing (the
  // tests of the rescans use it).
  const char* without = std::getenv("IMGFLOW_WATCH_NO_INOTIFY");
  const bool refused = without && std::string_view(without) == "1";
  inotify_fd_ = refused ? -1 : ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    notes.push_back(fmt::format("inotify is not available ({}): rescanning every {} s (--rescan-interval)",
                                refused ? "IMGFLOW_WATCH_NO_INOTIFY=1" : std::strerror(errno), interval_.count()));
    rescans_ = true;
  }
  // Watches first, then the scan of what is there: a file that lands in between is seen twice
  // (and done once: the feed judges its output), never missed.
  for (std::size_t r = 0; r < options_.roots.size() && inotify_fd_ >= 0; ++r) watch_tree(options_.roots[r], r, {}, notes);
  for (std::size_t r = 0; r < options_.roots.size(); ++r) queue_scan(options_.roots[r], r, {});
  next_rescan_ = Clock::now() + interval_;
}

void FolderWatch::stop_inotify(const std::string& why, std::vector<std::string>& notes) {
  notes.push_back(fmt::format("{}: rescanning every {} s instead (--rescan-interval)", why, interval_.count()));
  ::close(inotify_fd_);
  inotify_fd_ = -1;
  watches_.clear();
  rescans_ = true;
}

bool FolderWatch::watch_tree(const fs::path& top, std::size_t root, const fs::path& relative, std::vector<std::string>& notes) {
  constexpr std::uint32_t kMask =
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;
  std::vector<std::pair<fs::path, fs::path>> pending{{top, relative}};
  while (!pending.empty() && inotify_fd_ >= 0) {
    auto [dir, rel] = std::move(pending.back());
    pending.pop_back();
    const int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
    if (wd < 0) {
      if (errno == ENOSPC)
        stop_inotify(fmt::format("inotify is out of watches (fs.inotify.max_user_watches = {})", max_user_watches()), notes);
      else if (errno == ENOMEM)
        stop_inotify("inotify is out of memory", notes);
      continue;  // a folder gone already, or not readable (its scan says so)
    }
    struct stat info {};
    ::stat(dir.c_str(), &info);
    watches_[wd] = Watched{dir, rel, root, info.st_dev, info.st_ino};
    if (!options_.recursive) continue;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      const bool directory = options_.follow_symlinks ? it->is_directory(type_ec) : it->is_directory(type_ec) && !it->is_symlink(type_ec);
      if (!directory || hidden(it->path()) || skipped(it->path())) continue;
      pending.emplace_back(it->path(), rel / it->path().filename());
    }
  }
  return inotify_fd_ >= 0;
}

void FolderWatch::forget_tree(const fs::path& dir) {
  const std::string prefix = dir.string() + "/";
  for (auto it = watches_.begin(); it != watches_.end();) {
    const std::string path = it->second.dir.string();
    if (it->second.dir == dir || path.starts_with(prefix)) {
      ::inotify_rm_watch(inotify_fd_, it->first);
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
}

void FolderWatch::queue_scan(const fs::path& dir, std::size_t root, const fs::path& relative) {
  Scan scan;
  scan.root = root;
  scan.prefix = relative;
  WalkOptions walk{options_.recursive, options_.follow_symlinks, options_.skip};
  scan.listing = list_inputs({dir}, walk);
  scans_.push_back(std::move(scan));
}

void FolderWatch::rescan_all() {
  scans_.clear();
  for (std::size_t r = 0; r < options_.roots.size(); ++r)
    if (root_present_[r]) queue_scan(options_.roots[r], r, {});
}

void FolderWatch::take(fs::path path, fs::path relative, Seen seen, std::vector<Arrival>& ready) {
  if (hidden(path) || !has_image_extension(path) || known_.count(path.string())) return;
  const Clock::time_point now = Clock::now();
  const auto hold = [&](Clock::duration wait, Seen again) {
    known_.insert(path.string());
    settling_.emplace(now + wait, Settling{Arrival{std::move(path), std::move(relative), now}, again});
  };
  const std::optional<bool> writing = open_for_writing(path);
  if (writing == true) {
    // A writer has it open. After its close event, that may be the kernel still closing it (the
    // event is queued before the file's write access is given back): looked at again shortly.
    // Otherwise its writer's close is reported (or a rescan finds it again).
    if (seen == Seen::closed) hold(std::chrono::milliseconds(50), Seen::closed_again);
    return;
  }
  if (!writing && seen == Seen::scan) {
    // Whether a writer has it open cannot be asked here: taken once unmodified for a while.
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return;  // gone
    const auto modified = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec)));
    const auto age = std::chrono::system_clock::now() - modified;
    if (S_ISREG(info.st_mode) && age < options_.settle) {
      hold(std::chrono::duration_cast<Clock::duration>(options_.settle - age), Seen::scan);
      return;
    }
  }
  ready.push_back(Arrival{std::move(path), std::move(relative), now});
}

void FolderWatch::read_events(std::vector<std::string>& notes, std::vector<Arrival>& found) {
  alignas(inotify_event) char buffer[64 * 1024];
  while (inotify_fd_ >= 0) {
    const ssize_t got = ::read(inotify_fd_, buffer, sizeof buffer);
    if (got <= 0) return;  // EAGAIN: nothing more now
    for (const char* p = buffer; p < buffer + got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(p);
      p += sizeof(inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        notes.push_back("inotify's event queue overflowed (fs.inotify.max_queued_events): rescanning every folder");
        rescan_all();
        continue;
      }
      const auto it = watches_.find(event->wd);
      if (it == watches_.end()) continue;
      const Watched watched = it->second;
      if (event->mask & IN_IGNORED) {
        watches_.erase(it);
        continue;
      }
      if (event->mask & (IN_MOVE_SELF | IN_DELETE_SELF)) {
        // Moved within the tree, it is watched at its new path already (same watch, same
        // inode there); otherwise its watches (and those below) name a path that is no more.
        struct stat info {};
        const bool same = ::stat(watched.dir.c_str(), &info) == 0 && info.st_dev == watched.device && info.st_ino == watched.inode;
        if (same) continue;
        forget_tree(watched.dir);
        if (watched.relative.empty() && root_present_[watched.root]) {
          root_present_[watched.root] = false;
          notes.push_back(fmt::format("input folder {} has gone: watching for a folder there again", watched.dir.string()));
        }
        continue;
      }
      if (event->len == 0) continue;
      const fs::path name(event->name);
      fs::path path = watched.dir / name;
      fs::path relative = watched.relative / name;
      if (event->mask & IN_ISDIR) {
        if (!options_.recursive || hidden(path) || skipped(path) || !(event->mask & (IN_CREATE | IN_MOVED_TO))) continue;
        // A new folder: watched, then listed (files written into it before its watch).
        watch_tree(path, watched.root, relative, notes);
        queue_scan(path, watched.root, relative);
        continue;
      }
      if (event->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) take(std::move(path), std::move(relative), Seen::closed, found);
    }
  }
}

void FolderWatch::check_roots(std::vector<std::string>& notes) {
  for (std::size_t r = 0; r < options_.roots.size(); ++r) {
    std::error_code ec;
    const bool there = fs::is_directory(options_.roots[r], ec);
    if (root_present_[r] && !there && !watching()) {
      root_present_[r] = false;
      notes.push_back(fmt::format("input folder {} has gone: watching for a folder there again", options_.roots[r].string()));
    } else if (!root_present_[r] && there) {
      root_present_[r] = true;
      notes.push_back(fmt::format("input folder {} is there again", options_.roots[r].string()));
      if (watching()) watch_tree(options_.roots[r], r, {}, notes);
      queue_scan(options_.roots[r], r, {});
    }
  }
}

void FolderWatch::poll(std::chrono::milliseconds timeout, std::size_t max, std::vector<Arrival>& ready,
                       std::vector<std::string>& notes) {
  if (!started_) start(notes);
  const std::size_t first = ready.size();
  // Files found ready join those waiting to be handed out (known_: none twice).
  const auto queue = [&](std::vector<Arrival>& found) {
    for (Arrival& arrival : found) {
      known_.insert(arrival.path.string());
      arrived_.push_back(std::move(arrival));
    }
  };
  const auto gather = [&] {
    std::vector<Arrival> found;
    read_events(notes, found);
    queue(found);
    check_roots(notes);
    const Clock::time_point now = Clock::now();
    if (rescans_ && now >= next_rescan_) {
      if (scans_.empty()) rescan_all();
      next_rescan_ = now + interval_;
    }
    // Files left to settle whose time has come: looked at again (as a scan would).
    while (!settling_.empty() && settling_.begin()->first <= now) {
      Settling settling = std::move(settling_.begin()->second);
      settling_.erase(settling_.begin());
      known_.erase(settling.arrival.path.string());
      std::vector<Arrival> again;
      take(std::move(settling.arrival.path), std::move(settling.arrival.relative), settling.seen, again);
      queue(again);
    }
    while (ready.size() - first < max && !arrived_.empty()) {
      known_.erase(arrived_.front().path.string());
      ready.push_back(std::move(arrived_.front()));
      arrived_.pop_front();
    }
    while (ready.size() - first < max && !scans_.empty()) {
      Scan& scan = scans_.front();
      if (scan.next == scan.listing.files.size()) {
        for (const ListingError& error : scan.listing.errors)
          notes.push_back(fmt::format("{}: cannot list: {}", error.path.string(), error.reason));
        scans_.pop_front();
        continue;
      }
      const ListedFile& file = scan.listing.files[scan.next++];
      take(file.input(), scan.prefix / file.relative(), Seen::scan, ready);
    }
  };
  gather();
  if (ready.size() > first) return;
  // Nothing ready: wait for events, a file to settle or the next rescan, at most `timeout`.
  auto wait = timeout;
  const Clock::time_point now = Clock::now();
  if (!settling_.empty())
    wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(settling_.begin()->first - now) + std::chrono::milliseconds(1));
  if (rescans_) wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(next_rescan_ - now) + std::chrono::milliseconds(1));
  wait = std::max(wait, std::chrono::milliseconds(0));
  if (inotify_fd_ >= 0) {
    pollfd descriptor{inotify_fd_, POLLIN, 0};
    ::poll(&descriptor, 1, static_cast<int>(wait.count()));
  } else {
    std::this_thread::sleep_for(wait);
  }
  gather();
}

}  // namespace imgflow
